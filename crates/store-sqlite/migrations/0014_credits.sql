-- API credits and concurrency (bulkwrite_store::credits). An org's own metering setting: a row
-- with metered = 0 turns metering off for the org, a row with an edition meters it by that plan,
-- no row leaves it to the server's setting.
CREATE TABLE org_credits (
    org INTEGER PRIMARY KEY REFERENCES orgs (zgid),
    metered INTEGER NOT NULL,
    edition TEXT,
    users INTEGER,
    addon_credits INTEGER
);

-- Credits used, per org and minute (minutes since the Unix epoch); a minute counts until 24
-- hours after it ends, and older ones are deleted as calls are admitted.
CREATE TABLE api_credit_minutes (
    org INTEGER NOT NULL,
    minute INTEGER NOT NULL,
    credits INTEGER NOT NULL,
    PRIMARY KEY (org, minute)
) WITHOUT ROWID;

-- Calls active now, one row each: the concurrency slots. A slot whose node never freed it lapses
-- at expires_at (unix ms).
CREATE TABLE api_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org INTEGER NOT NULL,
    app TEXT NOT NULL,
    complex INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX api_calls_by_org ON api_calls (org, app);
