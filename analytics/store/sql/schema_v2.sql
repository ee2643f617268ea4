-- Schema version 2: accounts, the audit log and saved rubric versions (SPEC §7). Existing data is untouched.
CREATE TABLE users (
    name          VARCHAR NOT NULL,          -- unique, enforced by auth.add_user inside a transaction
    password_hash VARCHAR NOT NULL,          -- argon2id; the password itself is never stored
    role          VARCHAR NOT NULL,          -- 'admin' | 'analyst' | 'leader'
    systems       VARCHAR[] NOT NULL,        -- an analyst's systems; empty = all systems
    disabled      BOOLEAN NOT NULL,
    failed_logins INTEGER NOT NULL,
    locked_until  TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    created_by    VARCHAR NOT NULL
);

CREATE SEQUENCE audit_seq START 1;

-- Append-only from the app: no code path updates or deletes these rows.
CREATE TABLE audit_log (
    event_id  BIGINT NOT NULL DEFAULT nextval('audit_seq'),
    occurred_at TIMESTAMP NOT NULL,
    user_name VARCHAR NOT NULL,
    action    VARCHAR NOT NULL,
    detail    VARCHAR                        -- JSON object
);

-- Every rubric saved from the editor; the newest is in force (the bundled data/rubric.toml until one is saved).
CREATE TABLE rubric_versions (
    version  VARCHAR NOT NULL,
    text     VARCHAR NOT NULL,
    saved_by VARCHAR NOT NULL,
    saved_at TIMESTAMP NOT NULL
);
