-- ACME state shared by every instance on one database (`[tls.acme]` on PostgreSQL: SQLite
-- serves one instance, which keeps its state in `tls.acme.dir` alone). `scope` names one
-- certificate: the directory URL and the sorted names it covers.
-- The account of a directory: instant-acme's credentials JSON, which holds the account key.
CREATE TABLE acme_accounts (
    directory    TEXT PRIMARY KEY NOT NULL,
    credentials  TEXT NOT NULL
);
-- The certificate in service: its key, then its chain (PEM).
CREATE TABLE acme_certificates (
    scope        TEXT PRIMARY KEY NOT NULL,
    pem          TEXT NOT NULL,
    not_after    BIGINT NOT NULL,      -- Unix seconds
    updated_at   BIGINT NOT NULL
);
-- The instance ordering now: one at a time per certificate, until `expires_at` (a lease, so
-- that a crashed holder does not block the others for longer).
CREATE TABLE acme_leases (
    scope        TEXT PRIMARY KEY NOT NULL,
    holder       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL       -- Unix microseconds
);
-- Names being proved with tls-alpn-01, so that whichever instance the CA reaches answers: the
-- SHA-256 of the key authorization, hex.
CREATE TABLE acme_validations (
    name         TEXT PRIMARY KEY NOT NULL,
    digest       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL       -- Unix microseconds
);
