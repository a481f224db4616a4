-- Unique keys by scope: a key's org, module and field become one small integer (`key_scopes`),
-- so the key index holds (scope, value) instead of the three names on every key. Each step of
-- a descent compares one integer and the value, and the 1,000,000-row insert (whose keys land
-- at random places) spends about an eighth less time (docs/PERFORMANCE.md).
--
-- Scopes are never deleted, not even by an org reset: a scope's id stays its own, so the keys
-- a snapshot holds name the same scope when they are restored.
CREATE TABLE key_scopes (
    id INTEGER PRIMARY KEY,
    org INTEGER NOT NULL,
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    UNIQUE (org, module, field)
);

CREATE TABLE unique_keys (
    scope INTEGER NOT NULL,
    value TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (scope, value)
) WITHOUT ROWID;

INSERT OR IGNORE INTO key_scopes (org, module, field) SELECT org, module, field FROM record_keys;
INSERT OR IGNORE INTO key_scopes (org, module, field)
    SELECT org, json_extract(row_json, '$.module'), json_extract(row_json, '$.field')
    FROM snapshot_rows WHERE tbl = 'record_keys';

INSERT INTO unique_keys (scope, value, record_id)
    SELECT s.id, k.value, k.record_id
    FROM record_keys k JOIN key_scopes s ON s.org = k.org AND s.module = k.module AND s.field = k.field;
DROP TABLE record_keys;
CREATE INDEX unique_keys_by_record ON unique_keys (record_id);

-- Snapshots taken before hold their keys as `record_keys` rows: rewritten to the new shape.
UPDATE snapshot_rows SET
    tbl = 'unique_keys',
    row_json = (
        SELECT json_object(
            'scope', s.id,
            'value', json_extract(snapshot_rows.row_json, '$.value'),
            'record_id', json_extract(snapshot_rows.row_json, '$.record_id')
        )
        FROM key_scopes s
        WHERE s.org = json_extract(snapshot_rows.row_json, '$.org')
          AND s.module = json_extract(snapshot_rows.row_json, '$.module')
          AND s.field = json_extract(snapshot_rows.row_json, '$.field')
    )
WHERE tbl = 'record_keys';
