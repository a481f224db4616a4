-- Profiles (bulkwrite_store::profiles): the custom ones and what was taken from a built-in one;
-- perms_json is bulkwrite_core::perms::ProfilePerms. Users name their profile in users.profile.
CREATE TABLE profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org INTEGER NOT NULL REFERENCES orgs (zgid),
    name TEXT NOT NULL,
    custom INTEGER NOT NULL,
    perms_json TEXT NOT NULL
);
CREATE UNIQUE INDEX profiles_by_name ON profiles (org, lower(name));
