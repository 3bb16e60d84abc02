-- The service's own tables on PostgreSQL: the same tables as on SQLite (migrations/sqlite), with
-- Postgres's types. The job queue (apalis) keeps its tasks in its own schema, `apalis`.
-- Times are milliseconds since the Unix epoch, as on SQLite.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    scope       TEXT NOT NULL,
    hash        BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE verify_jobs (
    id               TEXT PRIMARY KEY,
    status           TEXT NOT NULL,          -- queued, running, succeeded, failed, cancelled
    key_id           TEXT,
    idempotency_key  TEXT,
    request_hash     TEXT,
    file_name        TEXT NOT NULL,
    upload_path      TEXT,                   -- the upload, until the job ends
    source_url       TEXT,                   -- or the URL the worker fetches the video from
    callback_url     TEXT,
    metadata         TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    error            TEXT,
    verdict          TEXT,
    report           TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    run_ms           BIGINT
);
CREATE UNIQUE INDEX jobs_idempotency ON verify_jobs (key_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_status_created ON verify_jobs (status, created_at);
CREATE INDEX jobs_created ON verify_jobs (created_at);

-- Every attempt at a job: who ran it, when, and how it ended.
CREATE TABLE job_attempts (
    job_id      TEXT NOT NULL REFERENCES verify_jobs (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    worker      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    outcome     TEXT,
    error       TEXT,
    PRIMARY KEY (job_id, attempt)
);

CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY,          -- the webhook-id header: the same on every retry
    job_id        TEXT NOT NULL,
    url           TEXT NOT NULL,
    event         TEXT NOT NULL,
    body          TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       BIGINT,                    -- NULL once delivered or given up
    delivered_at  BIGINT,
    last_status   BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX webhook_due ON webhook_deliveries (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX webhook_job ON webhook_deliveries (job_id);

CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    status       BIGINT,
    error        TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- The manifest store: every manifest the service signs, by soft binding and by manifest id.
CREATE TABLE manifests (
    manifest_id  TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    value        TEXT NOT NULL,
    title        TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    stored_at    BIGINT NOT NULL,
    manifest     BYTEA NOT NULL,
    UNIQUE (alg, value)
);

-- Append-only: every state change of a job and every key operation.
CREATE TABLE audit (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE FUNCTION verity_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION verity_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION verity_append_only();

-- Where webhooks may go: each endpoint has its own signing secret (`whsec_…`), shown once when
-- it is added. A job's callback_url must be one of these.
CREATE TABLE webhook_endpoints (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL UNIQUE,
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    disabled_at  BIGINT
);
