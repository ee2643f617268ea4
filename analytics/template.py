"""SPEC §3 template loaded from template.toml into frozen dataclasses, and header matching."""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEMPLATE_PATH = Path(__file__).with_name("template.toml")
TYPES = {"text", "org_type", "int", "number", "rate", "yesno", "date", "grade", "level", "category"}
NUMERIC_TYPES = {"int", "number", "rate"}
CHOICE_TYPES = {"org_type", "grade", "level", "category"}
# SPEC §4.5: 党组织类别 as typed; left blank, a name with 退休 in it (离退休干部党支部) is read as 离退休
# (the scores read it so, and the upload says so row by row)
RETIRED, SERVING, RETIRED_MARK = "离退休", "在职", "退休"

# Decoration that carries no meaning in a header (after NFKC, which makes （）［］＂ ASCII): quotation marks of every
# kind and required-field stars; bracketed hints and units anywhere, innermost first: (次) (是/否) 【必填】 〔人〕;
# a leading list number (1. 1、 (1) 一、; NFKC makes ① a 1) and 其中 (其中： 其中, 其中、); a trailing colon.
_QUOTES = re.compile(r"[\"'“”‘’‚‛„‟「」『』《》〈〉〝〞〟«»‹›*※]")
_BRACKETED = re.compile(r"[(\[【{〔〖〘⦅][^()\[\]【】{}〔〕〖〗〘〙⦅⦆]*[)\]】}〕〗〙⦆]")
_LEADING = re.compile(r"^(?:\(?\d{1,2}[.、)]?|[一二三四五六七八九十]{1,3}、)?(?:其中[:,、]?)?")
_TRAILING = re.compile(r"[:：]+$")
_WHITESPACE = re.compile(r"\s+")
# suggest_columns offers a column when a header's likeness to one of its texts is at least this. 0.5 = half of all
# characters of both keys matched in order: 换届年月 ~ 换届日期 and 女党员数 ~ 党员数 (0.86) are asked about, while
# 备注, 联系人 (0.4 ~ 系统) and 填表人 are not. It errs towards asking (统计时间 ~ 换届时间 is exactly 0.5): a needless
# question costs the analyst one click, a column dropped unasked costs an indicator (SPEC §3.1.1).
RESEMBLES = 0.5
MAX_SUGGESTED_LENGTH = 40  # a longer "header" is a note or a sentence, not a column title


class TemplateError(ValueError):
    """The template file itself is malformed (a developer error, reported in Chinese)."""


@dataclass(frozen=True)
class Column:
    """One column of the quarterly template."""

    header: str
    name: str
    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    warn_above: float | None = None
    choices: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    help: str = ""
    optional: bool = False  # blank by nature (党小组会次数: no party groups): a file without it lacks nothing


@dataclass(frozen=True)
class Markers:
    """Cell texts with a fixed meaning: missing, yes/no, total rows, notes, index columns."""

    missing: frozenset[str]
    zero_for_counts: frozenset[str]
    yes: frozenset[str]
    no: frozenset[str]
    total_rows: tuple[str, ...]
    note_prefixes: tuple[str, ...]
    index_headers: frozenset[str]


@dataclass(frozen=True)
class Template:
    """The whole template: columns in SPEC order and the markers."""

    version: int
    columns: tuple[Column, ...]
    markers: Markers

    @property
    def names(self) -> list[str]:
        """Internal column names in SPEC order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column with this internal name."""
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[Column]:
        """Columns every file must have."""
        return [c for c in self.columns if c.required]


def normalize_key(text: str) -> str:
    """NFKC, then no whitespace at all: the identity of names and text keys (SPEC §2)."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", str(text)))


def header_key(text: str) -> str:
    """The casefolded text a person reads in a header cell (decoration above stripped), or the less-stripped text."""
    key = _QUOTES.sub("", normalize_key(text))
    unbracketed = key
    while (stripped := _BRACKETED.sub("", unbracketed)) != unbracketed:
        unbracketed = stripped
    for candidate in (unbracketed, key):
        core = _TRAILING.sub("", _LEADING.sub("", candidate, count=1))
        if core:
            return core.casefold()
    return key.casefold()


def _column(entry: dict) -> Column:
    name = entry.get("name", "?")
    if entry.get("type") not in TYPES:
        raise TemplateError(f"模板列 {name} 的类型 {entry.get('type')!r} 无效")
    if entry["type"] in CHOICE_TYPES and not entry.get("choices"):
        raise TemplateError(f"模板列 {name} 缺少可选值 choices")
    unknown = set(entry.get("aliases", {}).values()) - set(entry.get("choices", ()))
    if unknown:
        raise TemplateError(f"模板列 {name} 的别名指向不存在的可选值：{sorted(unknown)}")
    return Column(
        header=entry["header"],
        name=name,
        type=entry["type"],
        required=bool(entry.get("required", False)),
        min=entry.get("min"),
        max=entry.get("max"),
        warn_above=entry.get("warn_above"),
        choices=tuple(entry.get("choices", ())),
        synonyms=tuple(entry.get("synonyms", ())),
        aliases=tuple((normalize_key(k), v) for k, v in entry.get("aliases", {}).items()),
        help=entry.get("help", ""),
        optional=bool(entry.get("optional", False)),
    )


def parse_template(text: str) -> Template:
    """Template from TOML text; raises TemplateError naming the bad entry."""
    raw = tomllib.loads(text)
    columns = tuple(_column(e) for e in raw["column"])
    m = raw["markers"]
    markers = Markers(
        missing=frozenset(normalize_key(x) for x in m["missing"]),
        zero_for_counts=frozenset(m["zero_for_counts"]),
        yes=frozenset(normalize_key(x) for x in m["yes"]),
        no=frozenset(normalize_key(x) for x in m["no"]),
        total_rows=tuple(m["total_rows"]),
        note_prefixes=tuple(normalize_key(x) for x in m["note_prefixes"]),
        index_headers=frozenset(header_key(x) for x in m["index_headers"]),
    )
    template = Template(version=raw["version"], columns=columns, markers=markers)
    _check_unique_keys(template)
    return template


def _check_unique_keys(template: Template) -> None:
    seen: dict[str, str] = {}
    for col in template.columns:
        for text in (col.header, *col.synonyms):
            key = header_key(text)
            if seen.setdefault(key, col.name) != col.name:
                raise TemplateError(f"表头 {text!r} 同时对应 {seen[key]} 和 {col.name}")


@cache
def load_template() -> Template:
    """The bundled template (parsed once per process)."""
    return parse_template(TEMPLATE_PATH.read_text(encoding="utf-8"))


@cache
def header_lookup() -> dict[str, str]:
    """Matching key of every header and synonym -> internal column name."""
    template = load_template()
    return {header_key(text): col.name for col in template.columns for text in (col.header, *col.synonyms)}


def match_header(cell: object) -> str | None:
    """The internal name a header cell stands for, or None."""
    if cell is None:
        return None
    text = str(cell)
    if not text.strip():
        return None
    return header_lookup().get(header_key(text))


@cache
def _header_texts() -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(internal name, header key, its characters) of every header and synonym, in template order."""
    return tuple(
        (col.name, key, frozenset(key))
        for col in load_template().columns
        for key in dict.fromkeys(header_key(t) for t in (col.header, *col.synonyms))
    )


def _likeness(a: str, b: str) -> float:
    """How alike two header keys are, from 0 to 1."""
    # difflib's ratio, 2 × characters matched in order / both lengths, rather than bigram Dice: Chinese headers are
    # short and one character is a word (女, 网 for 线, 率), which costs one character in the ratio but two bigrams in
    # Dice (三会一课网上录入比例 ~ 三会一课线上录入率: 14/19 = 0.74 against 10/17 = 0.59); a one-character key has
    # no bigram at all.
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def suggest_columns(text: str, limit: int = 3) -> list[tuple[str, float]]:
    """(internal name, score) of the template columns a header resembles (score ≥ RESEMBLES), best first."""
    key = header_key(text)
    if not key or len(key) > MAX_SUGGESTED_LENGTH:
        return []
    chars = frozenset(key)
    best: dict[str, float] = {}
    for name, other, other_chars in _header_texts():
        if not chars & other_chars:  # no character in common: ratio 0, no need to compute it
            continue
        score = _likeness(key, other)
        if score >= RESEMBLES and score > best.get(name, 0.0):
            best[name] = score
    ranked = sorted(best.items(), key=lambda item: -item[1])  # stable: ties keep template order
    return [(name, round(score, 3)) for name, score in ranked[:limit]]


def resembles(text: str) -> bool:
    """True for a header the template does not know that resembles some template column."""
    return match_header(text) is None and bool(suggest_columns(text))
