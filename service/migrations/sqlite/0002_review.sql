-- The review queue. Items are made when a job ends and its report matches a queue's rule; their
-- report is copied here so that deleting the job leaves the evidence. Decisions are append-only,
-- as the audit log is; who claimed, decided and what the routing did is in `audit`.
CREATE TABLE reviewers (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,             -- reviewer, lead, admin
    password_hash  TEXT NOT NULL,             -- argon2id, PHC string
    blur           INTEGER NOT NULL DEFAULT 1, -- videos blurred until clicked
    created_at     INTEGER NOT NULL,
    disabled_at    INTEGER
);

CREATE TABLE review_sessions (
    token_hash  BLOB PRIMARY KEY,             -- SHA-256 of the cookie's token
    who         TEXT NOT NULL,                -- reviewer:<name> or key:<name>
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    reviewer_id TEXT,                         -- a reviewer's session
    key_id      TEXT,                         -- or an admin API key's: ends when it is revoked
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE review_items (
    id           TEXT PRIMARY KEY,
    job_id       TEXT NOT NULL UNIQUE,
    queue        TEXT NOT NULL,
    status       TEXT NOT NULL,               -- open, closed
    file_name    TEXT NOT NULL,
    file_sha256  TEXT,
    payload      TEXT,                        -- the watermark payload, when there is one
    verdict      TEXT NOT NULL,
    score        REAL,                        -- the classifier's probability, when scored
    report       TEXT NOT NULL,
    video_path   TEXT,                        -- kept while the item is open
    created_at   INTEGER NOT NULL,
    claimed_by   TEXT,
    claim_until  INTEGER,
    decision     TEXT,
    closed_at    INTEGER
);
CREATE INDEX review_open ON review_items (queue, status, created_at);
CREATE INDEX review_sha ON review_items (file_sha256);
CREATE INDEX review_payload ON review_items (payload);

CREATE TABLE review_decisions (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id   TEXT NOT NULL,
    who       TEXT NOT NULL,
    action    TEXT NOT NULL,
    note      TEXT NOT NULL,
    queue     TEXT NOT NULL,                  -- the queue it was decided in
    at        INTEGER NOT NULL
);
CREATE INDEX review_decisions_item ON review_decisions (item_id);
CREATE INDEX review_decisions_at ON review_decisions (at);
CREATE TRIGGER review_decisions_no_update BEFORE UPDATE ON review_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER review_decisions_no_delete BEFORE DELETE ON review_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE INDEX audit_subject ON audit (subject);
CREATE INDEX audit_actor ON audit (actor);
