-- The store's tables as fengqiao created them from issue 15 until stores recorded their schema
-- version (schema 2, unrecorded), verbatim from ingest/src/schema.rs at commit 288b2ca. The CSV files
-- beside it are the tables of a store that release wrote (`fengqiao generate --region
-- data/testing/sparse-north --cases 240 --months 2 --seed 5`, ingested in two files with two bad rows),
-- loaded by ingest/tests/migrate.rs.
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
    ingested_at    TIMESTAMP NOT NULL,
    geo_precision  VARCHAR,
    place_match    VARCHAR,
    address        VARCHAR
);
CREATE TABLE IF NOT EXISTS rejected (
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    field       VARCHAR,
    reason      VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    raw         VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    sheet       VARCHAR
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
CREATE TABLE IF NOT EXISTS region (
    name        VARCHAR NOT NULL,
    name_en     VARCHAR NOT NULL,
    code        VARCHAR NOT NULL,
    level       VARCHAR NOT NULL,
    hash        VARCHAR NOT NULL,
    origin      VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS region_files (
    name    VARCHAR NOT NULL,
    content VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS region_log (
    logged_at      TIMESTAMP NOT NULL,
    action         VARCHAR NOT NULL,
    from_hash      VARCHAR,
    to_hash        VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    code           VARCHAR NOT NULL,
    cases_replaced BIGINT NOT NULL,
    message        VARCHAR NOT NULL
);
