-- Idempotency keys of deposits and withdrawals (transfers keep theirs in `transfers`): a
-- retried submission with the same key and request replays the entry it made instead of
-- moving money again. One key per user; the entry is the one the first request wrote.
CREATE TABLE movement_keys (
    user_id          TEXT NOT NULL REFERENCES users(id),
    idempotency_key  TEXT NOT NULL,
    request_hash     TEXT NOT NULL,                     -- SHA-256 of the canonical request
    entry_id         TEXT NOT NULL REFERENCES transactions(id),
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
