"""The mapping step (SPEC §3.1.1): a header the template does not know but that resembles a template column is
never dropped without the analyst deciding; confirmed mappings are stored, audited, reused and removable; every
upload reports the template columns it lacks and the indicators they feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import mappings
from analytics.accounts import audit, auth
from analytics.accounts.access import AccessDenied
from analytics.cli import main as cli_main
from analytics.store import batches
from analytics.store import database as store
from tests.records import EXTRA, ODD_RATE, RATES, odd_header_workbook
from tests.sessions import as_user

ROOT = Path(__file__).resolve().parent.parent
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def ingest(capsys, db: Path, *args: str) -> tuple[int, dict]:
    """Exit code and JSON output of `ingest ARGS --json --no-refresh`."""
    code = cli_main(["ingest", *args, "--db", str(db), "--json", "--no-refresh"])
    return code, json.loads(capsys.readouterr().out)


def stored_rates(db: Path, quarter: str) -> list[float | None]:
    with store.connect(db) as con:
        frame = store.quarter_records(con, quarter).sort_values("org_name")
    return [None if v != v else float(v) for v in frame["online_record_rate"]]  # NaN -> None


def test_a_resembling_header_blocks_the_upload_and_names_the_map_to_use(tmp_path, db_path, capsys):
    path = write(tmp_path, "a.xlsx", odd_header_workbook("2024年第一季度"))
    code, out = ingest(capsys, db_path, path)
    assert code == 1 and out["loaded"] == []
    unmapped = {u["header"]: u["suggestions"] for u in out["unmapped_columns"]}
    assert unmapped[ODD_RATE][0] == "online_record_rate"
    assert "members_total" in unmapped[EXTRA]
    errors = {e["column"]: e["message"] for e in out["errors"] if e["column"] in (ODD_RATE, EXTRA)}
    assert f'--map "{ODD_RATE}=online_record_rate"' in errors[ODD_RATE]
    # 党员总数 is already a column of the sheet: 女党员数 is most likely the office's own, so 忽略 is offered first
    assert "表中已有「党员总数」列" in errors[EXTRA] and f'--map "{EXTRA}=忽略"' in errors[EXTRA]
    preselected = {u["header"]: u["preselect"] for u in out["unmapped_columns"]}
    assert preselected == {ODD_RATE: "online_record_rate", EXTRA: None}
    with store.connect(db_path) as con:
        assert batches.history(con).empty and mappings.stored(con) == {}


def test_valid_rows_only_does_not_get_past_an_unmapped_header(tmp_path, db_path, capsys):
    code, out = ingest(
        capsys, db_path, write(tmp_path, "a.xlsx", odd_header_workbook("2024年第一季度")), "--valid-rows-only"
    )
    assert code == 1 and out["loaded"] == []


def test_confirmed_mapping_loads_the_column_is_stored_audited_and_reused(tmp_path, db_path, capsys):
    first = write(tmp_path, "a.xlsx", odd_header_workbook("2024年第一季度"))
    code, out = ingest(capsys, db_path, first, "--map", f"{ODD_RATE}=online_record_rate", "--map", f"{EXTRA}=忽略")
    assert code == 0 and len(out["loaded"]) == 1
    assert stored_rates(db_path, "2024Q1") == RATES
    with store.connect(db_path) as con:
        kept = mappings.listing(con)
        events = audit.events(con, action="mapping_save")
    assert dict(zip(kept["header"], kept["field"], strict=True)) == {ODD_RATE: "online_record_rate", EXTRA: None}
    assert set(kept["confirmed_by"]) == {auth.CLI_OPERATOR.name}
    assert {json.loads(d)["header"] for d in events["detail"]} == {ODD_RATE, EXTRA}
    # The next quarter's file from the same office loads without asking
    code, out = ingest(capsys, db_path, write(tmp_path, "b.xlsx", odd_header_workbook("2024年第二季度")))
    assert code == 0 and out["unmapped_columns"] == []
    assert stored_rates(db_path, "2024Q2") == RATES
    notes = {w["column"]: w["message"] for w in out["warnings"] if w["column"] in (ODD_RATE, EXTRA)}
    assert "三会一课线上录入率" in notes[ODD_RATE] and "忽略" in notes[EXTRA]


def test_a_rejected_upload_keeps_no_mapping(tmp_path, db_path, capsys):
    data = odd_header_workbook("2024年第一季度", drop=("members_full",))
    code, _ = ingest(capsys, db_path, write(tmp_path, "a.xlsx", data), "--map", f"{ODD_RATE}=online_record_rate")
    assert code == 1  # the gap was not acknowledged
    with store.connect(db_path) as con:
        assert mappings.stored(con) == {} and batches.history(con).empty


@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        (f"{ODD_RATE}=no_such_column", "不是模板中的列"),
        ("三会一课线上录入率(%)=online_record_rate", "已能自动识别"),
        ("没有等号", "--map 的写法"),
    ],
)
def test_a_bad_map_option_is_a_usage_error_in_chinese(tmp_path, db_path, capsys, option, fragment):
    path = write(tmp_path, "a.xlsx", odd_header_workbook("2024年第一季度"))
    code = cli_main(["ingest", path, "--db", str(db_path), "--map", option])
    assert code == 2 and fragment in capsys.readouterr().err


def test_missing_columns_are_listed_with_their_indicators_and_need_consent(tmp_path, db_path, capsys):
    # SPEC §4.1: S1 scores members_full (a missing value scores 0); S4 applies where members_full >= 7.
    # group_meetings is blank by nature where a branch has no party groups: never a gap.
    data = odd_header_workbook("2024年第一季度", rename={}, drop=("members_full", "group_meetings"), extra=False)
    path = write(tmp_path, "a.xlsx", data)
    code, out = ingest(capsys, db_path, path)
    assert code == 1 and out["loaded"] == []
    gaps = {m["field"]: m for m in out["missing_columns"]}
    assert set(gaps) == {"members_full"}
    assert gaps["members_full"]["zero"] == ["S1"] and gaps["members_full"]["excluded"] == ["S4"]
    assert "正式党员数" in gaps["members_full"]["message"] and "S1" in gaps["members_full"]["message"]
    assert out["affected_indicators"] == ["S1", "S4"]
    code, out = ingest(capsys, db_path, path, "--allow-missing-columns")
    assert code == 0 and out["loaded"][0]["rows"] == 3


def test_a_gap_without_indicators_is_still_reported(tmp_path, db_path, capsys):
    data = odd_header_workbook("2024年第一季度", rename={}, drop=("activists",), extra=False)
    code, out = ingest(capsys, db_path, write(tmp_path, "a.xlsx", data))
    assert code == 1
    assert [(m["field"], m["indicators"]) for m in out["missing_columns"]] == [("activists", [])]
    assert out["affected_indicators"] == []


def test_only_an_admin_removes_a_mapping_and_the_header_is_asked_again(tmp_path, db_path, capsys):
    with store.connect(db_path) as con:
        analyst = auth.add_user(con, "分析员甲", "correct-horse-1", "analyst", actor="tests")
        mappings.save(con, analyst, {ODD_RATE: "online_record_rate", EXTRA: None})
        key = mappings.checked(ODD_RATE, "online_record_rate")[0]
        with pytest.raises(AccessDenied):
            mappings.remove(con, analyst, key)
        assert mappings.remove(con, auth.CLI_OPERATOR, key) is True
        assert [json.loads(d)["header"] for d in audit.events(con, action="mapping_remove")["detail"]] == [ODD_RATE]
    code, out = ingest(capsys, db_path, write(tmp_path, "a.xlsx", odd_header_workbook("2024年第一季度")))
    assert code == 1 and [u["header"] for u in out["unmapped_columns"]] == [ODD_RATE]


def test_a_leader_cannot_store_a_mapping(db_path):
    with store.connect(db_path) as con:
        leader = auth.add_user(con, "领导甲", "correct-horse-1", "leader", actor="tests")
        with pytest.raises(AccessDenied):
            mappings.save(con, leader, {ODD_RATE: "online_record_rate"})
        assert mappings.stored(con) == {}


def upload_page(db_path: Path, data: bytes, name: str = "经济系统.xlsx") -> AppTest:
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), "analyst", "分析员乙")
    at.run()
    at.switch_page("pages/upload.py")
    at.run()
    at.file_uploader(key="files").upload(name, data, XLSX_MIME)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_upload_page_asks_stores_and_then_loads(db_path):
    at = upload_page(db_path, odd_header_workbook("2024年第一季度"))
    boxes = {box.key: box for box in at.selectbox}
    odd = next(b for b in boxes.values() if ODD_RATE in b.label)
    extra = next(b for b in boxes.values() if EXTRA in b.label)
    assert odd.value == "online_record_rate"  # the best suggestion is preselected
    assert extra.value == ""  # 忽略 first: the sheet already has 党员总数, so 女党员数 is the office's own column
    assert not any(b.key == "load" for b in at.button)  # nothing loads before the analyst decides
    next(b for b in at.button if b.label == "确认对应关系").click().run()
    assert not at.exception, at.exception
    assert not [b for b in at.selectbox if b.key and b.key.startswith("map_")]
    with store.connect(db_path) as con:
        assert mappings.stored(con) == {
            mappings.checked(ODD_RATE, None)[0]: "online_record_rate",
            mappings.checked(EXTRA, None)[0]: None,
        }
    at.button(key="load").click().run()
    assert stored_rates(db_path, "2024Q1") == RATES
    # A second upload of the same layout asks nothing
    again = upload_page(db_path, odd_header_workbook("2024年第二季度"), "二季度.xlsx")
    assert not [b for b in again.selectbox if b.key and b.key.startswith("map_")]
    again.button(key="load").click().run()
    assert stored_rates(db_path, "2024Q2") == RATES


def test_the_upload_page_needs_a_tick_for_missing_columns(db_path):
    data = odd_header_workbook("2024年第一季度", rename={}, drop=("members_full",), extra=False)
    at = upload_page(db_path, data)
    gaps = next(d.value for d in at.dataframe if "缺少的列" in d.value.columns)
    assert list(gaps["缺少的列"]) == ["正式党员数"] and list(gaps["影响的指标"]) == ["S1、S4"]
    assert not any(b.key == "load" for b in at.button)
    at.checkbox(key="gaps_ok").check().run()
    at.button(key="load").click().run()
    with store.connect(db_path) as con:
        assert len(store.quarter_records(con, "2024Q1")) == 3


def test_the_admin_page_lists_and_removes_mappings(db_path):
    with store.connect(db_path) as con:
        mappings.write(con, "分析员乙", {ODD_RATE: "online_record_rate"})
    at = as_user(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60))
    at.run()
    at.switch_page("pages/header_mappings.py")
    at.run()
    table = at.dataframe[0].value
    assert list(table["文件中的表头"]) == [ODD_RATE] and list(table["对应的模板列"]) == ["三会一课线上录入率(%)"]
    at.button(key="remove").click().run()
    assert not at.exception, at.exception
    with store.connect(db_path) as con:
        assert mappings.stored(con) == {}
