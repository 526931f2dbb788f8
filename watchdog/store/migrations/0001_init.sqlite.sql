-- Times are UTC text (2026-11-18T12:00:00.000000Z), money is decimal text.
-- The ledger: one row per claimed notice, unique on its identity; delivery state is the outbox.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rule            TEXT NOT NULL,
    scope           TEXT NOT NULL,
    entity          TEXT NOT NULL,
    period_key      TEXT NOT NULL,
    step            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    event           TEXT NOT NULL,
    level           TEXT,
    reason          TEXT NOT NULL,
    message         TEXT NOT NULL,
    thread_key      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    period_end      TEXT,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_error      TEXT,
    delivered_at    TEXT,
    ref             TEXT,
    lease           TEXT,
    leased_until    TEXT,
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
    created_at TEXT NOT NULL,
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
    since      TEXT NOT NULL,
    PRIMARY KEY (rule, scope, entity, period_key, step, channel)
);
CREATE TABLE decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
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
    updated_at TEXT NOT NULL,
    PRIMARY KEY (rule, scope, entity)
);

-- The last reset (or first-seen baseline) and the standing block per budget; never aged out.
CREATE TABLE budget_memory (
    rule         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    entity       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('reset', 'block')),
    period_key   TEXT NOT NULL,
    at           TEXT NOT NULL,
    spend_before TEXT,
    PRIMARY KEY (rule, scope, entity, kind)
);

-- The audit trail of changes made in LiteLLM.
CREATE TABLE actions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('reset', 'block', 'unblock')),
    rule         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    entity       TEXT NOT NULL,
    period_key   TEXT NOT NULL,
    ok           INTEGER NOT NULL,
    spend_before TEXT,
    spend_after  TEXT,
    error        TEXT
);
CREATE INDEX actions_at ON actions (at);

CREATE TABLE snoozes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rule       TEXT,
    scope      TEXT,
    entity     TEXT,
    until      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX snoozes_until ON snoozes (until);

-- Spend counter readings for period baselines and forecasts.
CREATE TABLE samples (
    scope  TEXT NOT NULL,
    entity TEXT NOT NULL,
    at     TEXT NOT NULL,
    spend  TEXT NOT NULL,
    PRIMARY KEY (scope, entity, at)
);
CREATE INDEX samples_at ON samples (at);
