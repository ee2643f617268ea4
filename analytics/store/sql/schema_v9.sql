-- Schema version 9: 整改督办 (SPEC §8). A rectification item follows one problem of one organization (or of a unit,
-- org_id NULL) from the quarter whose data showed it to the quarter whose data show it fixed and a person's 销号.
-- Statuses are codes (open, in_progress, to_verify, closed, overdue); the Chinese names live in the code.
CREATE TABLE IF NOT EXISTS rectifications (
    item_id        BIGINT NOT NULL,
    problem        VARCHAR NOT NULL,   -- a warning kind of analytics/scoring/alerts.py, or 'indicator:<id>'
    quarter        VARCHAR NOT NULL,   -- the quarter whose data showed the problem
    system         VARCHAR NOT NULL,
    unit           VARCHAR NOT NULL,   -- the unit as typed (organizations.unit)
    org_id         BIGINT,             -- NULL: an item of the whole unit
    org_name       VARCHAR,
    seen           VARCHAR NOT NULL,   -- what the data showed, JSON {column: value}
    requirement    VARCHAR NOT NULL,
    deadline       DATE NOT NULL,
    responsible    VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,
    evidence       VARCHAR,            -- JSON of the data that show it fixed (quarter, before, after)
    evidence_batch BIGINT,             -- the batch whose record showed the fix: rolling it back reopens the item
    created_at     TIMESTAMP NOT NULL,
    created_by     VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS rectification_history (
    item_id     BIGINT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    actor       VARCHAR NOT NULL,
    status_from VARCHAR,               -- NULL: the item was created
    status_to   VARCHAR NOT NULL,
    note        VARCHAR NOT NULL,
    by_data     BOOLEAN NOT NULL       -- changed by the data check after a load or rollback, not by a person
);
