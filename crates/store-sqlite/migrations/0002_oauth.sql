-- OAuth: clients, one-time grant codes, refresh tokens; access tokens remember where they came from.

CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    org INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX oauth_clients_by_org ON oauth_clients (org);

CREATE TABLE grant_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    org INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    redirect_uri TEXT,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    org INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE access_tokens ADD COLUMN client_id TEXT;
ALTER TABLE access_tokens ADD COLUMN refresh_hash TEXT;
CREATE INDEX access_tokens_by_refresh ON access_tokens (refresh_hash);

ALTER TABLE users ADD COLUMN password_hash TEXT;
CREATE UNIQUE INDEX users_by_email ON users (org, email COLLATE NOCASE);
