-- Callback inbox, reset and snapshots (issue 19).

-- Each attempt's request as sent and the receiver's answer (body cut at 64 KiB), as one JSON
-- document {"request": …, "response": …}; NULL for attempts recorded before.
ALTER TABLE callback_attempts ADD COLUMN exchange_json TEXT;
-- Attempts made before the last replay: a replayed callback's retry budget counts from here.
ALTER TABLE callbacks ADD COLUMN replay_from INTEGER NOT NULL DEFAULT 0;
CREATE INDEX callbacks_by_org ON callbacks (org);

-- The built-in receiver (/bulkwrite/v1/inbox/{name}). org NULL: posted without a token.
CREATE TABLE inbox_deliveries (
    id BIGSERIAL PRIMARY KEY,
    org BIGINT,
    name TEXT NOT NULL,
    job_id BIGINT,
    received_at TIMESTAMPTZ NOT NULL,
    headers_json TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX inbox_by_name ON inbox_deliveries (name, org, id);
CREATE INDEX inbox_by_org ON inbox_deliveries (org);

-- Snapshots of an org's state: every row of every state table as json (to_json of the row, read
-- back with json_populate_record; json, not jsonb, keeps record documents as written), and the
-- blob keys those rows name (so that a reset does not delete a blob a snapshot still needs).
CREATE TABLE snapshots (
    org BIGINT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    records BIGINT NOT NULL,
    jobs BIGINT NOT NULL,
    rows BIGINT NOT NULL,
    PRIMARY KEY (org, name)
);

CREATE TABLE snapshot_rows (
    org BIGINT NOT NULL,
    snapshot TEXT NOT NULL,
    tbl TEXT NOT NULL,
    row_data JSON NOT NULL
);
CREATE INDEX snapshot_rows_by_snapshot ON snapshot_rows (org, snapshot, tbl);

CREATE TABLE snapshot_blobs (
    org BIGINT NOT NULL,
    snapshot TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (org, snapshot, key)
);
CREATE INDEX snapshot_blobs_by_key ON snapshot_blobs (key);

-- Resets find an org's rows by org; these tables had no index that starts with it.
CREATE INDEX access_tokens_by_org ON access_tokens (org);
CREATE INDEX uploads_by_org ON uploads (org);
CREATE INDEX fault_rules_by_org ON fault_rules (org);
CREATE INDEX grant_codes_by_org ON grant_codes (org);
CREATE INDEX refresh_tokens_by_org ON refresh_tokens (org);
