"""A full ops config and its environment, shared by the config tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchdog import config
from watchdog.errors import ConfigError

FULL = """\
litellm:
  url: http://litellm:4000
  master_key: os.environ/LITELLM_MASTER_KEY
  page_size: 50
prometheus:
  url: http://prometheus:9090
  headers:
    Authorization: os.environ/PROM_TOKEN
database_url: os.environ/DATABASE_URL
poll_interval: 30s
rules: [rules, extra/finance.yaml]
http:
  port: 9464
  callback_token: os.environ/CALLBACK_TOKEN
channels:
  eng-slack:
    type: slack
    token: os.environ/SLACK_BOT_TOKEN
    channel: "#eng-budgets"
    quiet_hours: {from: "22:00", to: "07:00", timezone: Europe/Stockholm}
  finance-hook:
    type: slack
    webhook_url: os.environ/SLACK_WEBHOOK_URL
  audit:
    type: webhook
    url: https://hooks.example.com/budget
    secret: os.environ/WEBHOOK_SECRET
    headers:
      Authorization: os.environ/HOOK_AUTH
  finance-email:
    type: email
    host: smtp.example.com
    username: budgets
    password: os.environ/SMTP_PASSWORD
    sender: Budget watchdog <budgets@example.com>
    to: [finance@example.com]
  stdout:
    type: console
routing:
  default: [eng-slack]
  meta: [stdout]
  owners:
    team:
      engineering: [eng-slack, finance-email]
"""

ENV = {
    "LITELLM_MASTER_KEY": "sk-master-0123456789",
    "PROM_TOKEN": "Bearer prom-token-abcdef",
    "DATABASE_URL": "postgresql://watchdog:db-password-xyz@db/watchdog",
    "CALLBACK_TOKEN": "callback-token-314159",
    "SLACK_BOT_TOKEN": "xoxb-slack-bot-271828",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/slack-hook-161803",
    "WEBHOOK_SECRET": "whsec_c2lnbmluZy1zZWNyZXQtMTIz",
    "HOOK_AUTH": "Bearer hook-auth-577215",
    "SMTP_PASSWORD": "smtp-password-141421",
}
SECRETS = list(ENV.values())


def full_config(tmp_path: Path) -> Path:
    path = tmp_path / "watchdog.yaml"
    path.write_text(FULL, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "watchdog.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(path: str | None, env: dict[str, str]) -> list[tuple[int, int, str]]:
    """The (line, col, message) of each problem loading a config that must fail."""
    with pytest.raises(ConfigError) as caught:
        config.load(path, env)
    return [(p.line, p.col, p.message) for p in caught.value.problems]
