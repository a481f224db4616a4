-- `ANALYZE records` skips the records' values and keys. The planner never compares either as a
-- whole (a field is read through `data::json`, a key through `unique_keys`), but ANALYZE sorted
-- a sample of both, long text as they are, for statistics nothing used. A large job refreshes
-- the statistics beside the node's next job (`statistics.rs`); without these two columns, it
-- took 40 ms instead of 86-101 ms for 300,000 records (docs/PERFORMANCE.md).
ALTER TABLE records ALTER COLUMN data SET STATISTICS 0;
ALTER TABLE records ALTER COLUMN keys SET STATISTICS 0;
