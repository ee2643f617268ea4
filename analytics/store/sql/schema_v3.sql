-- Schema version 3: leader-page results kept per data version and rubric (analytics/derived.py).
-- A cache of what the data and the rubric determine: dropping every row loses nothing but time.
CREATE TABLE derived (
    data_version BIGINT    NOT NULL,
    rubric_sha   VARCHAR   NOT NULL,   -- sha256 of the rubric text in force
    name         VARCHAR   NOT NULL,   -- summary | trend | quarter | stability | warnings | ranks
    arg          VARCHAR   NOT NULL,   -- '' | quarter | quarter|kind | quarter|by|score
    created_at   TIMESTAMP NOT NULL,
    payload      BLOB      NOT NULL    -- the frame as a zstd-compressed Arrow IPC stream
);
