-- Unique keys by scope: a key's org, module and field become one small integer (`key_scopes`),
-- so the key index holds (scope, value) instead of the three names on every key; `value` is
-- compared byte for byte (`COLLATE "C"`, as before). A million random keys went into a table
-- of the old shape in 3.6-3.8 s and into this one in 3.2-3.4 s (docs/PERFORMANCE.md).
--
-- Scopes are never deleted, not even by an org reset: a scope's id stays its own, so the keys
-- a snapshot holds name the same scope when they are restored. A chunk makes the scopes it
-- needs at the start of its transaction, before it locks any record or key.
CREATE TABLE key_scopes (
    id BIGSERIAL PRIMARY KEY,
    org BIGINT NOT NULL,
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    UNIQUE (org, module, field)
);

CREATE TABLE unique_keys (
    scope BIGINT NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (scope, value)
);

INSERT INTO key_scopes (org, module, field)
    SELECT DISTINCT org, module, field FROM record_keys
    UNION
    SELECT DISTINCT (row_data ->> 'org')::bigint, row_data ->> 'module', row_data ->> 'field'
    FROM snapshot_rows WHERE tbl = 'record_keys'
    ORDER BY 1, 2, 3;

INSERT INTO unique_keys (scope, value, record_id)
    SELECT s.id, k.value, k.record_id
    FROM record_keys k JOIN key_scopes s ON s.org = k.org AND s.module = k.module AND s.field = k.field;
DROP TABLE record_keys;
CREATE INDEX unique_keys_by_record ON unique_keys (record_id);

-- Snapshots taken before hold their keys as `record_keys` rows: rewritten to the new shape.
UPDATE snapshot_rows r SET
    tbl = 'unique_keys',
    row_data = json_build_object('scope', s.id, 'value', r.row_data ->> 'value', 'record_id', (r.row_data ->> 'record_id')::bigint)
FROM key_scopes s
WHERE r.tbl = 'record_keys'
  AND s.org = (r.row_data ->> 'org')::bigint
  AND s.module = r.row_data ->> 'module'
  AND s.field = r.row_data ->> 'field';
