"""What every page says is Chinese (issue: the leader's five seconds): no English word in any page's own text, as
admin on the demo district, outside an allow-list of file formats; no 'None' where a table has nothing to show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.store import database as store
from pages._session import NAVIGATION
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {"PPTX", "XLSX", "DOCX", "PNG", "SVG", "ZIP", "CSV", "PDF"}
PAGES = [path for entries in NAVIGATION.values() for path, *_ in entries]
TEXT_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "text")
WIDGETS = ("button", "selectbox", "text_input", "checkbox", "radio", "multiselect", "number_input", "date_input")


def page_text(at: AppTest) -> list[str]:
    """The page's own words: texts, widget labels and options, metric labels, table headers (not cell data)."""
    said = [e.value for kind in TEXT_KINDS for e in getattr(at, kind)]
    said += [f"{m.label} {m.value}" for m in at.metric]
    for kind in WIDGETS:
        for widget in getattr(at, kind):
            said.append(str(widget.label))
            said += [str(o) for o in getattr(widget, "options", [])]
    said += [str(c) for d in at.dataframe for c in d.value.columns]
    return said


@pytest.mark.parametrize("path", PAGES)
def test_every_page_speaks_chinese(demo_db: Path, path: str):
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "admin").run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    with store.connect(demo_db) as con:  # what users typed or sent is theirs to name: accounts and file names
        typed = [r[0] for r in con.execute("SELECT name FROM users UNION SELECT file_name FROM batches").fetchall()]
    texts = page_text(at)
    for name in sorted(typed, key=len, reverse=True):
        texts = [t.replace(name, "") for t in texts]
    words = {w for text in texts for w in re.findall(r"[A-Za-z]{2,}", text)}
    assert words <= ALLOWED, (path, sorted(words - ALLOWED))


@pytest.mark.parametrize("path", ["pages/alerts.py", "pages/batches.py", "pages/users.py", "pages/audit.py"])
def test_read_only_tables_show_a_dash_not_none_for_a_missing_date_or_text(demo_db: Path, path: str):
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "admin").run()
    at.switch_page(path).run()
    for table in at.dataframe:
        frame = table.value
        texts = [c for c in frame.columns if frame[c].dtype == object or str(frame[c].dtype).startswith("datetime")]
        assert not frame[texts].isna().any().any(), (path, [c for c in texts if frame[c].isna().any()])
