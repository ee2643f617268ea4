"""The store's in-process write lock: one writer at a time inside a process (Streamlit sessions are threads);
DuckDB locks the file across processes."""

from __future__ import annotations

import threading

WRITE_LOCK = threading.RLock()
