"""What one batch holds: its original file, and what it changed for each of its organizations."""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.store.database import changed_fields_sql


def batch_file(con: duckdb.DuckDBPyConnection, batch_id: int) -> tuple[str, bytes] | None:
    """The original file name and bytes of a batch."""
    rows = con.execute(
        "SELECT b.file_name, f.content FROM batches b JOIN batch_files f USING (batch_id) WHERE batch_id = $b",
        {"b": batch_id},
    ).fetchall()
    return (rows[0][0], bytes(rows[0][1])) if rows else None


def batch_changes(con: duckdb.DuckDBPyConnection, batch_id: int) -> pd.DataFrame:
    """Organizations of a batch with what each replaced: new or changed (and which fields)."""
    fields = changed_fields_sql("n", "p")
    return con.execute(
        f"""SELECT o.system, o.unit, o.org_name,
                   CASE WHEN p.org_id IS NULL THEN 'new'
                        WHEN len({fields}) > 0 THEN 'changed'
                        ELSE 'unchanged' END AS change,
                   CASE WHEN p.org_id IS NULL THEN [] ELSE {fields} END AS fields
            FROM records n JOIN organizations o USING (org_id)
            LEFT JOIN records p ON p.org_id = n.org_id AND p.quarter = n.quarter
                 AND p.replaced_by = n.batch_id AND p.batch_id <> n.batch_id
            WHERE n.batch_id = $b ORDER BY n.source_sheet, n.source_row""",
        {"b": batch_id},
    ).df()
