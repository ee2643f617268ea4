-- Schema version 7: the audit log as a hash chain (analytics/store/audit_chain.py). Each row carries the sha256
-- of its own content and of the row before it, so a row edited, deleted or slipped in with plain SQL breaks the
-- chain at that row; meta 'audit_head' names the last row, so dropping rows from the end shows too.
-- Existing rows are chained right after this file runs, in the same transaction.
ALTER TABLE audit_log ADD COLUMN prev_hash VARCHAR;
ALTER TABLE audit_log ADD COLUMN row_hash VARCHAR;
