-- Bulk Read's download limit (ten a minute per user, issue 17), counted in the store so every
-- node counts the same downloads: one row per allowed download.
CREATE TABLE read_downloads (
    org BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX read_downloads_by_user ON read_downloads (org, user_id, at);
CREATE INDEX read_downloads_by_time ON read_downloads (at);
