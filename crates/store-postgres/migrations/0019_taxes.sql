-- The org's taxes (bulkwrite_store::taxes): a name (unique per org, case-insensitive), a rate in
-- percent, and the place in the org's list.
CREATE TABLE org_taxes (
    org BIGINT NOT NULL REFERENCES orgs (zgid),
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    sequence_number INTEGER NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE UNIQUE INDEX org_taxes_by_name ON org_taxes (org, lower(name));
