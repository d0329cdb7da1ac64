-- Per-account failed-login backoff, keyed by the normalised username as attempted (known or
-- not, so that throttling reveals nothing about which accounts exist). Kept in the database so
-- it survives restarts and is shared by every instance.
CREATE TABLE login_throttle (
    username         TEXT PRIMARY KEY NOT NULL,
    failures         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,      -- attempts before this time get 429
    locked_until     BIGINT,               -- set when failures reach the lock threshold
    updated_at       BIGINT NOT NULL
);
CREATE INDEX login_throttle_by_update ON login_throttle(updated_at);
