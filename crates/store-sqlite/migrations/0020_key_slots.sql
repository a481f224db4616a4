-- Unique keys by slot (see key_slots.rs): the key index holds (scope, slot), a slot being a hash
-- of the value (or one of the few slots after it, when another value holds that one), and each
-- record's keys, with their values, are kept in the order of the records. A probe reads the
-- slots and keeps the key whose value is the one it looks for. The index's entries are about
-- half the size of (scope, value) ones and compare as integers: the 1,000,000-row insert, whose
-- keys land at random places, takes about a quarter less time (docs/PERFORMANCE.md).
--
-- The keys are copied over in Rust once these statements have run (`key_slots::migrate`),
-- which computes their slots, and gives the keys that org snapshots hold theirs.
DROP INDEX unique_keys_by_record;
ALTER TABLE unique_keys RENAME TO unique_keys_0019;

CREATE TABLE unique_keys (
    record_id INTEGER NOT NULL,
    scope INTEGER NOT NULL,
    value TEXT NOT NULL,
    slot INTEGER NOT NULL,
    PRIMARY KEY (record_id, scope)
) WITHOUT ROWID;

CREATE TABLE key_slots (
    scope INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (scope, slot)
) WITHOUT ROWID;
