-- The test controls' shared state (issue 19): the offset of business time and the queue's
-- pause. One row, created here; only the test controls (behind --test-controls) change it.
CREATE TABLE test_controls (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    clock_offset_seconds INTEGER NOT NULL DEFAULT 0,
    queue_paused INTEGER NOT NULL DEFAULT 0
);
INSERT INTO test_controls (singleton) VALUES (1);
