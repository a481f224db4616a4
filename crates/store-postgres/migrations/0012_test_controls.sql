-- The test controls' shared state (issue 19): the offset of business time and the queue's
-- pause, one row that every node reads. Only the test controls (behind --test-controls)
-- change it.
CREATE TABLE test_controls (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    clock_offset_seconds BIGINT NOT NULL DEFAULT 0,
    queue_paused BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO test_controls (singleton) VALUES (TRUE);
