"""The scoring rubric (SPEC §4): data/rubric.toml -> frozen dataclasses, validated at load."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from analytics import ROOT
from analytics.template import NUMERIC_TYPES, RETIRED, RETIRED_MARK, load_template

RUBRIC_PATH = ROOT / "data" / "rubric.toml"
# SPEC §4: the two composite scores, declared here once; the rubric file must declare exactly these [[composites]]
COMPOSITES = ("standardization", "integration")
KINDS = ("count", "rate", "share", "flag", "grade", "term")
CONDITION_KEYS = {"column", "at_least", "greater_than", "present", "not_in", "quarter", "org_type", "category"}
# Conditions on what an organization is (SPEC §4.5): key in the rubric -> template column whose choices it lists
KIND_KEYS = {"org_type": "org_type", "category": "org_category"}
INDICATOR_KEYS = {
    "id", "composite", "name", "kind", "column", "numerator", "denominator", "target", "weight",
    "at_least", "table", "years", "accumulate", "applies", "required", "window",
}  # fmt: skip
QUADRANTS = ("融合型", "两张皮", "业务化", "边缘化")
# Shown where an organization has no integration score, so no quadrant (SPEC §4.5: 离退休)
NOT_RATED = "不参与融合评价"


class RubricError(ValueError):
    """The rubric file is invalid; the message names the bad entry, in Chinese."""


@dataclass(frozen=True)
class Condition:
    """One applicability rule; an indicator applies when all of its conditions hold."""

    column: str | None = None
    at_least: float | None = None
    greater_than: float | None = None
    present: bool = False
    not_in: tuple[str, ...] = ()
    quarters: tuple[int, ...] = ()
    org_types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Indicator:
    """One scored item of a composite (SPEC §4.1, §4.2)."""

    id: str
    composite: str
    name: str
    kind: str
    weight: float
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    target: float | None = None
    at_least: float | None = None
    table: tuple[tuple[str, float], ...] = ()
    years: tuple[tuple[str, int], ...] = ()
    accumulate: str | None = None
    applies: tuple[Condition, ...] = ()
    window: tuple[int, int] = ()  # (first, last) quarter of an annual item's window: (4, 1) = Q4 or the next Q1

    @property
    def columns(self) -> tuple[str, ...]:
        """Template columns this indicator reads (value and applicability)."""
        own = (self.column, self.numerator, self.denominator)
        return tuple(dict.fromkeys(c for c in (*own, *(a.column for a in self.applies)) if c))


@dataclass(frozen=True)
class Rubric:
    """The whole rubric: composites, indicators, quadrant threshold and grades."""

    version: str
    name: str
    quadrant_threshold: float
    grades: tuple[tuple[str, float], ...]
    grade_of: str
    composites: tuple[tuple[str, str], ...]
    indicators: tuple[Indicator, ...] = field(default=())
    composite_applies: tuple[tuple[str, tuple[Condition, ...]], ...] = ()
    # 整改督办 (SPEC §8): a unit's item on an indicator is fixed when its mean loss falls below this many points
    unit_lost_below: float = 1.0
    # The year (SPEC §9): a quarter an organization did not report counts as 0 ("zero") or is left out ("reported")
    annual_missing: str = "zero"

    def conditions(self, ind: Indicator) -> tuple[Condition, ...]:
        """Every condition an indicator needs: its own and its composite's (离退休 not scored on integration)."""
        return dict(self.composite_applies).get(ind.composite, ()) + ind.applies

    def of(self, composite: str) -> tuple[Indicator, ...]:
        """The indicators of one composite, in rubric order."""
        return tuple(i for i in self.indicators if i.composite == composite)

    @property
    def composite_ids(self) -> tuple[str, ...]:
        """Composite ids in rubric order (standardization, integration)."""
        return tuple(c for c, _ in self.composites)

    def composite_name(self, composite: str) -> str:
        """Chinese name of a composite."""
        return dict(self.composites)[composite]

    @property
    def grade_name(self) -> str:
        """What the grade column grades (SPEC §4.5): 支部标准化建设等级, or 综合等级 of both scores."""
        if self.grade_of in self.composite_ids:
            return f"{self.composite_name(self.grade_of)}等级"
        return "综合等级（两项得分较低者）" if self.grade_of == "min" else "综合等级（两项得分平均）"

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with this id."""
        return next(i for i in self.indicators if i.id == indicator_id)


def _number(raw: dict, key: str, where: str, positive: bool = False) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RubricError(f"{where}：{key} 应为数字，现为「{value}」。")
    if positive and value <= 0:
        raise RubricError(f"{where}：{key} 必须大于 0，现为 {value}。")
    return float(value)


def _check_column(name: object, where: str, types: set[str] | None = None) -> str:
    template = load_template()
    if not isinstance(name, str) or name not in template.names:
        raise RubricError(f"{where}：列「{name}」不在季度报表模板中。")
    if types is not None and template.column(name).type not in types:
        raise RubricError(f"{where}：列「{name}」的类型为 {template.column(name).type}，此处不能使用。")
    return name


def _condition(raw: object, where: str) -> Condition:
    if not isinstance(raw, dict) or not raw or set(raw) - CONDITION_KEYS:
        raise RubricError(f"{where}：适用条件「{raw}」无效，可用的键为 {sorted(CONDITION_KEYS)}。")
    if "quarter" in raw:
        quarters = raw["quarter"] if isinstance(raw["quarter"], list) else [raw["quarter"]]
        if set(raw) != {"quarter"} or not quarters or any(q not in (1, 2, 3, 4) for q in quarters):
            raise RubricError(f"{where}：季度条件应写作 {{ quarter = [4] }}，现为「{raw}」。")
        return Condition(quarters=tuple(quarters))
    for key, column in KIND_KEYS.items():
        if key in raw:
            return _kind_condition(raw, key, column, where)
    column = _check_column(raw.get("column"), where)
    tests = [k for k in ("at_least", "greater_than", "present", "not_in") if k in raw]
    if len(tests) != 1:
        raise RubricError(f"{where}：条件「{raw}」须且只能有 at_least、greater_than、present、not_in 之一。")
    if tests[0] in ("at_least", "greater_than"):
        _check_column(column, where, NUMERIC_TYPES)
    return Condition(
        column=column,
        at_least=_number(raw, "at_least", where),
        greater_than=_number(raw, "greater_than", where),
        present=bool(raw.get("present", False)) or "not_in" in raw,
        not_in=tuple(str(x) for x in raw.get("not_in", ())),
    )


def _kind_condition(raw: dict, key: str, column: str, where: str) -> Condition:
    """{ org_type = ["党支部", …] } or { category = ["在职"] }: the organization is of one of these kinds."""
    choices = load_template().column(column).choices
    listed = raw[key] if isinstance(raw[key], list) else [raw[key]]
    if set(raw) != {key} or not listed or any(x not in choices for x in listed):
        raise RubricError(f"{where}：条件「{raw}」应写作 {{ {key} = [...] }}，可选值为 {'、'.join(choices)}。")
    return Condition(**{"org_types" if key == "org_type" else "categories": tuple(listed)})


def _kind_fields(raw: dict, kind: str, where: str) -> dict:
    """Columns, target and tables a kind needs, checked against the template."""
    if kind in ("count", "rate"):
        target = _number(raw, "target", where, positive=True)
        if target is None:
            raise RubricError(f"{where}：{kind} 类指标缺少目标值 target。")
        types = {"rate"} if kind == "rate" else {"int", "number"}
        return {"column": _check_column(raw.get("column"), where, types), "target": target}
    if kind == "share":
        target = _number(raw, "target", where, positive=True)
        if target is None:
            raise RubricError(f"{where}：share 类指标缺少目标值 target。")
        num = _check_column(raw.get("numerator"), where, NUMERIC_TYPES)
        return {
            "numerator": num,
            "denominator": _check_column(raw.get("denominator"), where, NUMERIC_TYPES),
            "target": target,
        }
    if kind == "flag":
        at_least = _number(raw, "at_least", where)
        types = NUMERIC_TYPES if at_least is not None else {"yesno"}
        return {"column": _check_column(raw.get("column"), where, types), "at_least": at_least}
    if kind == "grade":
        column = _check_column(raw.get("column"), where, {"grade"})
        return {"column": column, "table": _grade_table(raw.get("table"), column, where)}
    return {"column": _check_column(raw.get("column"), where, {"date"}), "years": _term_years(raw.get("years"), where)}


def _grade_table(table: object, column: str, where: str) -> tuple[tuple[str, float], ...]:
    choices = set(load_template().column(column).choices)
    if not isinstance(table, dict) or not table:
        raise RubricError(f"{where}：grade 类指标缺少等次得分表 table。")
    for grade, score in table.items():
        if grade not in choices:
            raise RubricError(f"{where}：等次「{grade}」不是列「{column}」的可选值 {sorted(choices)}。")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise RubricError(f"{where}：等次「{grade}」的得分应在 0 到 1 之间，现为「{score}」。")
    return tuple((g, float(s)) for g, s in table.items())


def _term_years(years: object, where: str) -> tuple[tuple[str, int], ...]:
    types = set(load_template().column("org_type").choices)
    if not isinstance(years, dict) or set(years) != types:
        raise RubricError(f"{where}：term 类指标的任期 years 须为每种组织类型 {sorted(types)} 给出年数。")
    if any(isinstance(y, bool) or not isinstance(y, int) or y <= 0 for y in years.values()):
        raise RubricError(f"{where}：任期年数须为正整数，现为 {years}。")
    return tuple(years.items())


def _indicator(raw: object, composites: set[str]) -> Indicator:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise RubricError(f"评分细则中有一个指标缺少编号 id：{raw}")
    where = f"指标 {raw['id']}"
    if set(raw) - INDICATOR_KEYS:
        raise RubricError(f"{where}：未知的设置项 {sorted(set(raw) - INDICATOR_KEYS)}。")
    if raw.get("composite") not in composites:
        raise RubricError(f"{where}：所属综合指数「{raw.get('composite')}」不存在，可选 {sorted(composites)}。")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise RubricError(f"{where}：未知的指标类型「{kind}」，可选 {'、'.join(KINDS)}。")
    weight = _number(raw, "weight", where, positive=True)
    if weight is None:
        raise RubricError(f"{where}：缺少权重 weight。")
    if raw.get("accumulate") not in (None, "year_to_date") or (raw.get("accumulate") and kind != "count"):
        raise RubricError(f'{where}：accumulate 只能是 count 类指标的 "year_to_date"。')
    applies = raw.get("applies", [])
    if not isinstance(applies, list):
        raise RubricError(f"{where}：适用条件 applies 应为列表。")
    window = _window(raw, kind, where)
    return Indicator(
        id=raw["id"],
        composite=raw["composite"],
        name=str(raw.get("name") or raw["id"]),
        kind=kind,
        weight=weight,
        accumulate=raw.get("accumulate"),
        applies=tuple(_condition(c, where) for c in applies),
        window=window,
        **_kind_fields(raw, kind, where),
    )


def _window(raw: dict, kind: str, where: str) -> tuple[int, int]:
    """window = [4, 1]: two consecutive quarters (the second may be Q1 of the next year) of a count, flag or grade."""
    if "window" not in raw:
        return ()
    window = raw["window"]
    ok = isinstance(window, list) and len(window) == 2 and all(q in (1, 2, 3, 4) for q in window)
    if not ok or window[1] != window[0] % 4 + 1:
        raise RubricError(
            f"{where}：时间窗 window 应为相邻的两个季度，如 [4, 1]（第四季度或次年第一季度），现为「{window}」。"
        )
    if kind not in ("count", "flag", "grade") or raw.get("accumulate"):
        raise RubricError(f"{where}：时间窗 window 只能用于 count、flag、grade 类指标，且不能与 accumulate 同用。")
    return (window[0], window[1])


def _grades(raw: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, list) or not raw:
        raise RubricError("评分细则缺少等级划分 [[grades]]。")
    grades = tuple((str(g.get("name")), _number(g, "at_least", f"等级 {g.get('name')}")) for g in raw)
    bounds = [b for _, b in grades]
    if any(b is None for b in bounds) or bounds != sorted(bounds, reverse=True) or bounds[-1] != 0:
        raise RubricError("等级划分的分数线须从高到低排列，最后一档为 0。")
    return grades  # type: ignore[return-value]


def parse_rubric(text: str) -> Rubric:
    """A rubric from TOML text; raises RubricError with a Chinese message naming the bad entry."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"评分细则文件格式错误：{exc}") from exc
    if not str(raw.get("version", "")).strip():
        raise RubricError("评分细则缺少版本号 version。")
    composites = tuple((str(c["id"]), str(c.get("name", c["id"]))) for c in raw.get("composites", []))
    composite_applies = tuple(
        (str(c["id"]), tuple(_condition(x, f"综合指数 {c['id']}") for x in c["applies"]))
        for c in raw.get("composites", [])
        if c.get("applies")
    )
    if {c for c, _ in composites} != set(COMPOSITES):
        raise RubricError("评分细则须定义两个综合指数：standardization（标准化建设）与 integration（党建业务融合）。")
    indicators = tuple(_indicator(i, {c for c, _ in composites}) for i in raw.get("indicators", []))
    ids = [i.id for i in indicators]
    if len(set(ids)) != len(ids):
        raise RubricError(f"指标编号重复：{sorted({i for i in ids if ids.count(i) > 1})}。")
    for composite, label in composites:
        if not any(i.composite == composite for i in indicators):
            raise RubricError(f"综合指数「{label}」没有任何指标。")
    grade_of = raw.get("grade_of", "standardization")
    if grade_of not in (*COMPOSITES, "min", "mean"):
        raise RubricError(f"grade_of 应为 standardization、integration、min 或 mean，现为「{grade_of}」。")
    threshold = _number(raw, "quadrant_threshold", "象限阈值")
    if threshold is None or not 0 < threshold <= 100:
        raise RubricError("象限阈值 quadrant_threshold 须在 0 到 100 之间。")
    rectification = raw.get("rectification", {})
    unit_lost_below = _number(rectification, "unit_lost_below", "整改核验阈值") if rectification else None
    if unit_lost_below is not None and unit_lost_below <= 0:
        raise RubricError("整改核验阈值 [rectification] unit_lost_below 须大于 0。")
    annual_missing = str(raw.get("annual", {}).get("missing_quarter", "zero"))
    if annual_missing not in ("zero", "reported"):
        raise RubricError(
            f"[annual] missing_quarter 应为 zero（未报送按 0 分计）或 reported（只计已报送的季度），现为「{annual_missing}」。"
        )
    return Rubric(
        version=str(raw["version"]),
        name=str(raw.get("name", "")),
        quadrant_threshold=threshold,
        grades=_grades(raw.get("grades")),
        grade_of=grade_of,
        composites=composites,
        indicators=indicators,
        composite_applies=composite_applies,
        unit_lost_below=1.0 if unit_lost_below is None else unit_lost_below,
        annual_missing=annual_missing,
    )


def load_rubric(path: str | Path | None = None) -> Rubric:
    """The rubric in PATH (default data/rubric.toml)."""
    target = Path(path) if path else RUBRIC_PATH
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"无法读取评分细则文件 {target}：{exc.strerror}") from exc
    return parse_rubric(text)


KIND_NAMES = {"count": "次数", "rate": "比率", "share": "比例", "flag": "是否", "grade": "等次", "term": "按期换届"}


def describe(cond: Condition) -> str:
    """An applicability condition in plain Chinese, naming the template's column headers."""
    if cond.quarters:
        return "仅第" + "、".join(map(str, cond.quarters)) + "季度"
    if cond.org_types:
        return "仅" + "、".join(cond.org_types)
    if cond.categories:
        return "仅" + "、".join(cond.categories) + "党组织"
    header = load_template().column(cond.column).header
    if cond.at_least is not None:
        return f"{header} ≥ {cond.at_least:g}"
    if cond.greater_than is not None:
        return f"{header} > {cond.greater_than:g}"
    if cond.not_in:
        return f"{header}已填写且不是" + "、".join(cond.not_in)
    return f"{header}已填写"


def describe_window(window: tuple[int, int]) -> str:
    """When an annual item counts, in plain Chinese (SPEC §4.5)."""
    first, last = window
    nxt = "次年" if last < first else ""
    return f"第{first}季度已完成即计入，否则在{nxt}第{last}季度评价（第{first}季度或{nxt}第{last}季度完成均可），其他季度不计"


def indicator_rows(rubric: Rubric, composite: str) -> list[dict]:
    """The indicators of one composite as rows with Chinese keys (for the 方法说明 page and exports)."""
    indicators = rubric.of(composite)
    total = sum(i.weight for i in indicators)
    return [
        {
            "编号": i.id,
            "指标": i.name,
            "类型": KIND_NAMES[i.kind],
            "目标": "—" if i.target is None else f"{i.target:g}",
            "权重": i.weight,
            "占比": i.weight / total,
            "适用条件": "；".join(
                [*(describe(c) for c in rubric.conditions(i)), *([describe_window(i.window)] if i.window else [])]
            )
            or "全部党组织",
        }
        for i in indicators
    ]


def kind_rules(rubric: Rubric) -> list[str]:
    """The rubric's rules on kinds of organization (SPEC §4.5) as sentences for the method page."""
    out = []
    for composite, conditions in rubric.composite_applies:
        for cond in conditions:
            if cond.categories:
                out.append(
                    f"{rubric.composite_name(composite)}只评价{'、'.join(cond.categories)}党组织，其余党组织{NOT_RATED}、"
                    f"不划象限（党组织类别未填时，名称含“{RETIRED_MARK}”的按{RETIRED}党组织计）"
                )
            elif cond.org_types:
                out.append(f"{rubric.composite_name(composite)}只评价{'、'.join(cond.org_types)}")
    by_types: dict[tuple[str, ...], list[str]] = {}
    for ind in rubric.indicators:
        for cond in ind.applies:
            if cond.org_types:
                by_types.setdefault(cond.org_types, []).append(ind.name)
    choices = load_template().column("org_type").choices
    for types, names in by_types.items():
        others = [t for t in choices if t not in types]
        rest = f"，{'、'.join(others)}按其余指标评价" if others else ""
        out.append(f"{'、'.join(names)}只对{'、'.join(types)}计分{rest}")
    windows: dict[tuple[int, int], list[str]] = {}
    for ind in rubric.indicators:
        if ind.window:
            windows.setdefault(ind.window, []).append(ind.name)
    out += [f"{'、'.join(names)}是年度事项，按所评年度计：{describe_window(w)}" for w, names in windows.items()]
    return out
