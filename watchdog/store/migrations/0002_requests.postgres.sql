-- Requests reported by LiteLLM's generic_api callbacks: cost, tokens and who made them, never
-- prompts or responses.
CREATE TABLE requests (
    id                TEXT PRIMARY KEY,
    at                TIMESTAMPTZ NOT NULL,
    received_at       TIMESTAMPTZ NOT NULL,
    status            TEXT NOT NULL,
    cost              NUMERIC(24, 9) NOT NULL,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    total_tokens      BIGINT NOT NULL DEFAULT 0,
    model             TEXT,
    key_hash          TEXT,
    key_alias         TEXT,
    team_id           TEXT,
    team_alias        TEXT,
    user_id           TEXT,
    end_user          TEXT,
    tags              JSONB NOT NULL DEFAULT '[]',
    headers           JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX requests_at ON requests (at);
CREATE INDEX requests_received_at ON requests (received_at);

-- One row per request and attribute value (model, key, team, user, end_user, tag, header:…),
-- so spend per department or model over a period is one indexed range scan.
CREATE TABLE request_dims (
    request_id TEXT NOT NULL,
    dim        TEXT NOT NULL,
    value      TEXT NOT NULL,
    label      TEXT,
    at         TIMESTAMPTZ NOT NULL,
    cost       NUMERIC(24, 9) NOT NULL,
    PRIMARY KEY (request_id, dim, value)
);
CREATE INDEX request_dims_range ON request_dims (dim, at);
