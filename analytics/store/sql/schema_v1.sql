-- Schema version 1. Later versions add files schema_v2.sql ... applied in order by store.migrate.
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

CREATE TABLE batches (
    batch_id        INTEGER PRIMARY KEY,
    quarter         VARCHAR NOT NULL,
    file_name       VARCHAR NOT NULL,
    sha256          VARCHAR NOT NULL,
    uploader        VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    row_count       INTEGER NOT NULL,
    new_count       INTEGER NOT NULL,
    changed_count   INTEGER NOT NULL,
    unchanged_count INTEGER NOT NULL,
    skipped_count   INTEGER NOT NULL,   -- invalid rows left out with --valid-rows-only
    valid_rows_only BOOLEAN NOT NULL,
    status          VARCHAR NOT NULL,   -- 'active' | 'rolled_back'
    rolled_back_at  TIMESTAMP,
    rolled_back_by  VARCHAR,
    problems_json   VARCHAR             -- warnings (and skipped errors) reported at load
);

CREATE TABLE batch_files (batch_id INTEGER PRIMARY KEY, content BLOB NOT NULL);

-- One row per organization ever seen; identity is the three normalized keys.
CREATE TABLE organizations (
    org_id      INTEGER NOT NULL,
    system_key  VARCHAR NOT NULL,
    unit_key    VARCHAR NOT NULL,
    name_key    VARCHAR NOT NULL,
    system      VARCHAR NOT NULL,   -- display text as first seen
    unit        VARCHAR NOT NULL,
    org_name    VARCHAR NOT NULL,
    first_batch INTEGER NOT NULL,
    term_years  INTEGER             -- per-organization election term override (NULL = rubric default)
);

-- Every row ever loaded. The current row of (org, quarter) has replaced_by NULL; a replaced row names
-- the batch that replaced it, so rollback can restore it exactly; a rolled-back batch's own rows
-- carry replaced_by = their own batch_id (withdrawn).
CREATE TABLE records (
    batch_id             INTEGER NOT NULL,
    quarter              VARCHAR NOT NULL,
    org_id               INTEGER NOT NULL,
    source_sheet         VARCHAR,
    source_row           INTEGER,
    org_type             VARCHAR NOT NULL,
    members_total        INTEGER,
    members_full         INTEGER,
    members_probationary INTEGER,
    has_secretary        BOOLEAN,
    last_election_date   DATE,
    committee_meetings   INTEGER,
    general_meetings     INTEGER,
    group_meetings       INTEGER,
    party_lectures       INTEGER,
    theme_days           INTEGER,
    life_meetings        INTEGER,
    member_review_done   BOOLEAN,
    online_record_rate   DOUBLE,
    study_rate           DOUBLE,
    records_standard     BOOLEAN,
    dues_due             DOUBLE,
    dues_paid            DOUBLE,
    activists            INTEGER,
    candidates           INTEGER,
    new_probationary     INTEGER,
    converted            INTEGER,
    joint_meetings       INTEGER,
    pb_plus_projects     INTEGER,
    vanguard_posts       INTEGER,
    business_completion  DOUBLE,
    issues_found         INTEGER,
    issues_fixed         INTEGER,
    secretary_review     VARCHAR,
    model_level          VARCHAR,
    replaced_by          INTEGER
);

CREATE VIEW current_records AS
SELECT r.quarter, o.org_id, o.system, o.unit, o.org_name, o.term_years,
       r.* EXCLUDE (quarter, org_id, replaced_by, source_sheet, source_row)
FROM records r
JOIN organizations o ON o.org_id = r.org_id
WHERE r.replaced_by IS NULL;
