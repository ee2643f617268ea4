"""党建质量看板: all domain code, in layers that import only downwards (tests/test_layers.py checks it).

    base      template.py template.toml problems.py   the quarterly template and the problems an upload can have
    ingest/   bytes of a spreadsheet -> typed records and problems          (imports base)
    store/    the database: connect, migrate, batches, history, rollback   (imports base)
    accounts/ users, roles, permissions, the audit log                      (imports store, base)
    scoring/  rubric, scores, imbalance, alerts, views, kept results        (imports accounts, store, base)
    charts/   frames -> plotly figures -> images                            (imports scoring and below)
    rectify/  整改督办: rectification items and their check by the data      (imports scoring and below)
    meeting/  a quarter's meeting material: deck, bulletin, workbooks       (imports charts and below)
    top       cli.py demo.py uploads.py mappings.py                         (imports anything here)
Nothing here imports streamlit; pages/ does the drawing.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project: data/, where the database and the rubric file live
