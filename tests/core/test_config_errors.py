"""Ops config mistakes are located and explained; secrets never show themselves."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.core.configs import ENV, SECRETS, full_config, problems, write
from watchdog import config, reload
from watchdog.config import config_path
from watchdog.config_fields import Secret
from watchdog.errors import ConfigError


@pytest.fixture
def full(tmp_path: Path) -> Path:
    return full_config(tmp_path)


# Locations and suggestions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "fragments"),
    [
        pytest.param(
            "pol_interval: 30s\n",
            1,
            1,
            ["pol_interval: unknown setting", "did you mean 'poll_interval'?", "accepted settings"],
            id="a misspelt top-level setting",
        ),
        pytest.param(
            "litellm:\n  url: http://x\n  mater_key: x\n",
            3,
            3,
            ["litellm.mater_key: unknown setting", "did you mean 'master_key'?", "page_size"],
            id="a misspelt nested setting lists its section's settings",
        ),
        pytest.param(
            "channels:\n  s:\n    type: console\n    chanel: '#x'\n",
            4,
            5,
            ["channels.s.chanel: unknown setting", "accepted settings: quiet_hours, type"],
            id="a setting a console channel does not have",
        ),
        pytest.param(
            "channels:\n  s:\n    type: console\n    quiet_hours: {from: '22:00'}\n",
            4,
            18,
            ["channels.s.quiet_hours.to: missing required setting"],
            id="quiet hours without an end",
        ),
        pytest.param(
            "channels:\n  eng-slack: {type: console}\nrouting:\n  default: [eng-slak]\n",
            4,
            12,
            ["routing.default: unknown channel 'eng-slak'", "did you mean 'eng-slack'?"],
            id="an unknown channel in routing",
        ),
        pytest.param(
            "channels:\n  eng-slack: {type: console}\nrouting:\n  owners:\n"
            "    team:\n      engineering: [finance]\n",
            6,
            20,
            ["routing.owners.team.engineering: unknown channel 'finance'", "eng-slack"],
            id="an unknown channel for a team owner",
        ),
        pytest.param(
            "http:\n  callback_headers: [X-Department, Authorization]\n",
            2,
            21,
            ["Authorization carries credentials and is never stored"],
            id="a credential header kept from callbacks",
        ),
        pytest.param(
            "channels:\n  eng-slack:\n    type: slak\n",
            3,
            5,
            ["channels.eng-slack: unknown channel type", "slack, webhook, email or console"],
            id="an unknown channel type",
        ),
        pytest.param(
            "log_level: loud\n",
            1,
            12,
            ["log_level:", "'debug'"],
            id="a choice outside the list",
        ),
        pytest.param(
            "- litellm\n",
            1,
            1,
            ["expected a mapping of settings"],
            id="a list instead of settings",
        ),
        pytest.param(
            "litellm:\n\turl: x\n",
            2,
            1,
            ["tab character"],
            id="a tab",
        ),
    ],
)
def test_mistakes_are_located(
    text: str, line: int, col: int, fragments: list[str], tmp_path: Path
) -> None:
    """Config mistakes are reported at their line and column with what is accepted."""
    found = problems(write(tmp_path, text), {})
    assert [(got_line, got_col) for got_line, got_col, _ in found] == [(line, col)]
    for fragment in fragments:
        assert fragment in found[0][2]


def test_an_unreadable_config(tmp_path: Path) -> None:
    """A config path that does not exist is a problem naming the reason."""
    missing = str(tmp_path / "nope.yaml")
    assert problems(missing, {}) == [(1, 1, "cannot read config: No such file or directory")]


# Secrets never show themselves --------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    """repr, str, f-strings, format and %-formatting show where a secret came from, not it."""
    secret = Secret("hunter2-value", "os.environ/DB_PASSWORD")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", format(secret), "%s" % secret]  # noqa: UP031
    for text in shown:
        assert "hunter2-value" not in text
        assert "os.environ/DB_PASSWORD" in text
    assert "hunter2-value" not in str(ValueError(secret))
    assert "hunter2-value" not in repr([secret, {"k": secret}])
    assert secret.reveal() == "hunter2-value"
    assert repr(Secret("x")) == "Secret('inline')"


def test_settings_never_show_their_secrets(full: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The whole settings object can be printed, dumped and logged without one secret in it."""
    settings = config.load(full, ENV)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("watchdog.test").info("loaded %s", settings)
        logging.getLogger("watchdog.test").info("dump %s", settings.model_dump())
    rendered = [
        repr(settings),
        str(settings),
        f"{settings}",
        str(settings.model_dump()),
        settings.model_dump_json(),
        caplog.text,
    ]
    for text in rendered:
        for secret in SECRETS:
            assert secret not in text
    assert "os.environ/SMTP_PASSWORD" in settings.model_dump_json()


@pytest.mark.parametrize(
    ("text", "env"),
    [
        pytest.param(
            "channels:\n  h:\n    type: webhook\n    url: https://x.example\n"
            "    secret: os.environ/HOOK\n",
            {"HOOK": "whsec_!!not-base64-secret-value"},
            id="a signing secret that is not base64",
        ),
        pytest.param(
            "channels:\n  s:\n    type: slack\n    webhook_url: os.environ/HOOK\n",
            {"HOOK": "not-a-url-secret-value"},
            id="a Slack webhook URL that is not a URL",
        ),
        pytest.param(
            "channels:\n  h:\n    type: webhook\n    url: https://x.example\n"
            "    secret: whsec_!!inline-secret-value\n",
            {},
            id="an inline secret that is refused",
        ),
        pytest.param(
            "database_url: os.environ/DB\npoll_interval: never\n",
            {"DB": "postgresql://u:db-secret-value@h/d"},
            id="another setting fails next to a secret",
        ),
    ],
)
def test_errors_never_show_secrets(text: str, env: dict[str, str], tmp_path: Path) -> None:
    """A config error about (or beside) a secret names where it came from, never its value."""
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text), env)
    shown = str(caught.value) + repr(caught.value) + "".join(map(str, caught.value.problems))
    assert "secret-value" not in shown


# Where the config is found ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cli", "env", "local_file", "expected"),
    [
        pytest.param("cli.yaml", {"WATCHDOG_CONFIG": "env.yaml"}, True, "cli.yaml", id="--config"),
        pytest.param(None, {"WATCHDOG_CONFIG": "env.yaml"}, True, "env.yaml", id="then the env"),
        pytest.param(None, {}, True, "watchdog.yaml", id="then ./watchdog.yaml"),
        pytest.param(None, {"WATCHDOG_CONFIG": ""}, False, None, id="else no config"),
    ],
)
def test_config_path_precedence(
    cli: str | None,
    env: dict[str, str],
    local_file: bool,
    expected: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--config wins, then WATCHDOG_CONFIG, then ./watchdog.yaml if it exists."""
    monkeypatch.chdir(tmp_path)
    if local_file:
        (tmp_path / "watchdog.yaml").write_text("{}\n", encoding="utf-8")
    assert config_path(cli, env) == expected


def test_a_reload_names_the_rule_file_and_line_of_an_unknown_channel(tmp_path: Path) -> None:
    """The daemon refuses rules naming a channel the config lacks, and says where, as `check`
    does: the rule's file and line, a close match and the channels there are."""
    (tmp_path / "rules").mkdir()
    rule_file = tmp_path / "rules" / "teams.yaml"
    rule_file.write_text(
        "budgets:\n"
        "  - name: Keys\n"
        "    scope: key\n"
        "    match: '*'\n"
        "    alert_at: [80%]\n"
        "  - name: Research\n"
        "    scope: team\n"
        "    match: research\n"
        "    amount: 100\n"
        "    notify: [eng-slak]\n"
    )
    config_file = tmp_path / "watchdog.yaml"
    config_file.write_text(
        f"litellm: null\nrules: [{tmp_path / 'rules'}]\n"
        "channels:\n  eng-slack: {type: console}\n  ops: {type: console}\n"
    )
    with pytest.raises(ConfigError) as caught:
        reload.compose(str(config_file), env={})
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == (str(rule_file), 6)
    assert problem.message == (
        "budget 'Research': notify: unknown channel 'eng-slak' (did you mean 'eng-slack'?); "
        "defined channels: eng-slack, ops"
    )
