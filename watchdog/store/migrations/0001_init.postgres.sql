-- The ledger: one row per claimed notice, unique on its identity; delivery state is the outbox.
CREATE TABLE notices (
    id              BIGSERIAL PRIMARY KEY,
    rule            TEXT NOT NULL,
    scope           TEXT NOT NULL,
    entity          TEXT NOT NULL,
    period_key      TEXT NOT NULL,
    step            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    event           TEXT NOT NULL,
    level           TEXT,
    reason          TEXT NOT NULL,
    message         JSON NOT NULL,
    thread_key      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    period_end      TIMESTAMPTZ,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_attempt_at TIMESTAMPTZ,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    ref             TEXT,
    lease           TEXT,
    leased_until    TIMESTAMPTZ,
    CONSTRAINT notices_identity UNIQUE (rule, scope, entity, period_key, step, channel, event)
);
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE state IN ('pending', 'failed');
CREATE INDEX notices_period_end ON notices (period_end);
CREATE INDEX notices_thread ON notices (thread_key, channel);
CREATE INDEX notices_dead ON notices (id) WHERE state = 'dead';

-- What a channel returned for the first delivered notice of a thread (Slack root "channel:ts").
CREATE TABLE threads (
    thread_key TEXT NOT NULL,
    channel    TEXT NOT NULL,
    ref        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (thread_key, channel)
);

-- The decision log: why nothing was sent, one row per change of reason.
CREATE TABLE decision_state (
    rule       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    entity     TEXT NOT NULL,
    period_key TEXT NOT NULL,
    step       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    since      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rule, scope, entity, period_key, step, channel)
);
CREATE TABLE decisions (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    rule       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    entity     TEXT NOT NULL,
    period_key TEXT NOT NULL,
    step       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_at ON decisions (at);

-- Forecast hysteresis per budget.
CREATE TABLE forecasts (
    rule       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    entity     TEXT NOT NULL,
    period_key TEXT NOT NULL,
    streak     INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rule, scope, entity)
);

-- The last reset (or first-seen baseline) and the standing block per budget; never aged out.
CREATE TABLE budget_memory (
    rule         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    entity       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('reset', 'block')),
    period_key   TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    spend_before NUMERIC,
    PRIMARY KEY (rule, scope, entity, kind)
);

-- The audit trail of changes made in LiteLLM.
CREATE TABLE actions (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('reset', 'block', 'unblock')),
    rule         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    entity       TEXT NOT NULL,
    period_key   TEXT NOT NULL,
    ok           BOOLEAN NOT NULL,
    spend_before NUMERIC,
    spend_after  NUMERIC,
    error        TEXT
);
CREATE INDEX actions_at ON actions (at);

CREATE TABLE snoozes (
    id         BIGSERIAL PRIMARY KEY,
    rule       TEXT,
    scope      TEXT,
    entity     TEXT,
    until      TIMESTAMPTZ NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX snoozes_until ON snoozes (until);

-- Spend counter readings for period baselines and forecasts.
CREATE TABLE samples (
    scope  TEXT NOT NULL,
    entity TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL,
    spend  NUMERIC NOT NULL,
    PRIMARY KEY (scope, entity, at)
);
CREATE INDEX samples_at ON samples (at);
