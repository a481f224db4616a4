-- API credits and concurrency (bulkwrite_store::credits). An org's own metering setting: a row
-- with metered = false turns metering off for the org, a row with an edition meters it by that
-- plan, no row leaves it to the server's setting.
CREATE TABLE org_credits (
    org BIGINT PRIMARY KEY REFERENCES orgs (zgid),
    metered BOOLEAN NOT NULL,
    edition TEXT,
    users BIGINT,
    addon_credits BIGINT
);

-- Credits used, per org and minute (minutes since the Unix epoch); a minute counts until 24
-- hours after it ends, and older ones are deleted as calls are admitted. Admissions of one org
-- are serialised by a transaction-scoped advisory lock (see credits.rs).
CREATE TABLE api_credit_minutes (
    org BIGINT NOT NULL,
    minute BIGINT NOT NULL,
    credits BIGINT NOT NULL,
    PRIMARY KEY (org, minute)
);

-- Calls active now, one row each: the concurrency slots. A slot whose node never freed it (the
-- node died) lapses at expires_at.
CREATE TABLE api_calls (
    id BIGSERIAL PRIMARY KEY,
    org BIGINT NOT NULL,
    app TEXT NOT NULL,
    complex BOOLEAN NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_calls_by_org ON api_calls (org, app);
