-- Objects in the object store that the database has let go of (an ended job's upload, a decided
-- review item's video), or not yet taken (an upload, or a review item's video, being stored
-- before the row that holds it is written). The object is deleted after the transaction that
-- records it commits, then its row; a row left by a process that stopped in between is swept
-- (see service/src/orphans.rs).
CREATE TABLE store_orphans (
    key     TEXT PRIMARY KEY,
    due_at  INTEGER NOT NULL,          -- ms since the epoch: not deleted before (a reservation's grace)
    claims  INTEGER NOT NULL DEFAULT 0 -- sweeps that took it: a swept reservation cannot be taken back
);

CREATE INDEX store_orphans_due ON store_orphans (due_at);
