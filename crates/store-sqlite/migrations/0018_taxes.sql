-- The org's taxes (bulkwrite_store::taxes): a name (unique per org, case-insensitive), a rate in
-- percent, and the place in the org's list.
CREATE TABLE org_taxes (
    org INTEGER NOT NULL REFERENCES orgs (zgid),
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    sequence_number INTEGER NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE UNIQUE INDEX org_taxes_by_name ON org_taxes (org, lower(name));
