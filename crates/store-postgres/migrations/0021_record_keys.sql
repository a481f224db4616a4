-- A record's unique keys beside it: `records.keys` holds the keys `unique_keys` gives the
-- record, as a JSON array of `[field, value]` pairs in byte order (NULL when it holds none), and
-- every write that adds or frees a record's keys writes both in one transaction. A chunk that
-- updates records reads their keys with them instead of looking each one up by record, and the
-- keys' index by record goes: it cost 0.9-1.2 s of PostgreSQL's CPU per 1,000,000 keys
-- inserted, and its lookups a sixth of an upsert's locking read (docs/PERFORMANCE.md).
-- `text`, not `json`: the server writes and reads it, and nothing checks it twice.
ALTER TABLE records ADD COLUMN keys TEXT;

UPDATE records r SET keys = k.keys
FROM (
    SELECT u.record_id,
           json_agg(json_build_array(s.field, u.value) ORDER BY s.field COLLATE "C", u.value COLLATE "C")::text AS keys
    FROM unique_keys u JOIN key_scopes s ON s.id = u.scope
    GROUP BY u.record_id
) AS k
WHERE r.id = k.record_id;

DROP INDEX unique_keys_by_record;
