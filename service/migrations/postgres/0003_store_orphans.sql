-- Objects the database has let go of, on PostgreSQL (see migrations/sqlite/0003_store_orphans.sql).
CREATE TABLE store_orphans (
    key     TEXT PRIMARY KEY,
    due_at  BIGINT NOT NULL,           -- ms since the epoch: not deleted before (a reservation's grace)
    claims  BIGINT NOT NULL DEFAULT 0  -- sweeps that took it: a swept reservation cannot be taken back
);

CREATE INDEX store_orphans_due ON store_orphans (due_at);
