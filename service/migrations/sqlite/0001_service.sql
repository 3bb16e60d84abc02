-- The service's own tables. The job queue (apalis) keeps its tasks in its own tables, `Jobs` and
-- `Workers`, beside them: a task carries only the id of a row of `verify_jobs`.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    scope       TEXT NOT NULL,
    hash        BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
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
    attempts         INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    verdict          TEXT,
    report           TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    run_ms           INTEGER
);
CREATE UNIQUE INDEX jobs_idempotency ON verify_jobs (key_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_status_created ON verify_jobs (status, created_at);
CREATE INDEX jobs_created ON verify_jobs (created_at);

-- Every attempt at a job: who ran it, when, and how it ended.
CREATE TABLE job_attempts (
    job_id      TEXT NOT NULL REFERENCES verify_jobs (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
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
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER,                   -- NULL once delivered or given up
    delivered_at  INTEGER,
    last_status   INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX webhook_due ON webhook_deliveries (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX webhook_job ON webhook_deliveries (job_id);

CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status       INTEGER,
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
    stored_at    INTEGER NOT NULL,
    manifest     BLOB NOT NULL,
    UNIQUE (alg, value)
);

-- Append-only: every state change of a job and every key operation.
CREATE TABLE audit (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Where webhooks may go: each endpoint has its own signing secret (`whsec_…`), shown once when
-- it is added. A job's callback_url must be one of these.
CREATE TABLE webhook_endpoints (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL UNIQUE,
    secret       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    disabled_at  INTEGER
);
