-- The store's tables as fengqiao created them before issue 15 (schema 1; no schema_version table),
-- verbatim from ingest/src/schema.rs at commit 567e2aa^. The CSV files beside it are its rows
-- (cases from `fengqiao generate --cases 240 --months 2 --seed 6`, the default region), loaded by
-- ingest/tests/migrate.rs.
CREATE TABLE IF NOT EXISTS cases (
    case_id        VARCHAR NOT NULL,
    reported_at    TIMESTAMP NOT NULL,
    class          VARCHAR NOT NULL,
    category       VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,
    channel        VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,
    county_code    VARCHAR NOT NULL,
    township_code  VARCHAR NOT NULL,
    village_code   VARCHAR NOT NULL,
    grid_code      VARCHAR,
    lng            DOUBLE NOT NULL,
    lat            DOUBLE NOT NULL,
    crs            VARCHAR,
    geo_source     VARCHAR NOT NULL,
    h3             UBIGINT NOT NULL,
    replied_at     TIMESTAMP,
    closed_at      TIMESTAMP,
    updated_at     TIMESTAMP NOT NULL,
    satisfaction   VARCHAR,
    repeat_of      VARCHAR,
    party_name     VARCHAR,
    party_phone    VARCHAR,
    summary        VARCHAR,
    source_file    VARCHAR NOT NULL,
    source_line    BIGINT NOT NULL,
    ingested_at    TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    field       VARCHAR,
    reason      VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    raw         VARCHAR,
    ingested_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ingest_log (
    file        VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    rows_read   BIGINT NOT NULL,
    inserted    BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    stale       BIGINT NOT NULL,
    rejected    BIGINT NOT NULL
);
