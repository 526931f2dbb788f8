"""The ops config: one YAML file plus WATCHDOG_* overrides and os.environ/NAME references."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.core.configs import ENV, SECRETS, full_config, problems, write
from watchdog import config
from watchdog.channel_settings import ConsoleChannel, EmailChannel, SlackChannel, WebhookChannel
from watchdog.config import Settings
from watchdog.config_fields import Secret, resolve_secret
from watchdog.model import Scope
from watchdog.rules import RuleSet


@pytest.fixture
def full(tmp_path: Path) -> Path:
    return full_config(tmp_path)


# A full config ------------------------------------------------------------------------------


def test_a_full_config_with_every_channel_type(full: Path) -> None:
    """Every section and every channel type loads, with secrets resolved from the given env."""
    settings = config.load(full, ENV)
    assert settings.litellm is not None
    assert settings.litellm.url == "http://litellm:4000"
    assert settings.litellm.master_key == Secret("sk-master-0123456789")
    assert settings.litellm.page_size == 50
    assert settings.prometheus is not None
    assert settings.prometheus.headers["Authorization"].reveal() == ENV["PROM_TOKEN"]
    assert settings.database_url is not None
    assert settings.database_url.reveal() == ENV["DATABASE_URL"]
    assert settings.poll_interval == timedelta(seconds=30)
    assert settings.rules == ("rules", "extra/finance.yaml")
    assert {name: type(ch) for name, ch in settings.channels.items()} == {
        "eng-slack": SlackChannel,
        "finance-hook": SlackChannel,
        "audit": WebhookChannel,
        "finance-email": EmailChannel,
        "stdout": ConsoleChannel,
    }
    slack = settings.channels["eng-slack"]
    assert isinstance(slack, SlackChannel)
    assert slack.token is not None
    assert slack.token.reveal() == ENV["SLACK_BOT_TOKEN"]
    assert slack.token.source == "os.environ/SLACK_BOT_TOKEN"
    email = settings.channels["finance-email"]
    assert isinstance(email, EmailChannel)
    assert (email.port, email.security, email.to) == (587, "starttls", ("finance@example.com",))
    assert sorted(settings.secrets()) == sorted(SECRETS)


def test_routing_for_the_core(full: Path) -> None:
    """The config's routing and quiet hours become the pure Routing the core reads."""
    settings = config.load(full, ENV)
    routing = settings.routing_for_rules()
    assert routing.default == ("eng-slack",)
    assert routing.meta == ("stdout",)
    assert routing.owners[Scope.TEAM]["engineering"] == ("eng-slack", "finance-email")
    assert set(routing.quiet) == {"eng-slack"}
    applied = settings.apply(RuleSet())
    assert applied.routing == routing
    assert applied.stale_after == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("poll", "stale", "effective"),
    [
        pytest.param("60s", None, timedelta(minutes=5), id="at least five minutes"),
        pytest.param("5m", None, timedelta(minutes=15), id="three poll intervals"),
        pytest.param("60s", "2m", timedelta(minutes=2), id="a stated limit wins"),
    ],
)
def test_stale_after(poll: str, stale: str | None, effective: timedelta) -> None:
    """Data is stale after three poll intervals (at least 5 minutes) unless stated."""
    env = {"WATCHDOG_POLL_INTERVAL": poll}
    if stale:
        env["WATCHDOG_STALE_AFTER"] = stale
    assert config.load(None, env).effective_stale_after == effective


def test_no_config_file_means_defaults() -> None:
    """Without a file every setting has a working default."""
    settings = config.load(None, {})
    assert settings == Settings()
    assert settings.rules == ("rules",)
    assert settings.database_url is None
    assert settings.channels == {}


# Overrides from the environment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value", "read"),
    [
        pytest.param(
            "WATCHDOG_POLL_INTERVAL",
            "45s",
            lambda s: s.poll_interval == timedelta(seconds=45),
            id="a top-level setting",
        ),
        pytest.param(
            "WATCHDOG_LITELLM__URL",
            "http://other:4000",
            lambda s: s.litellm.url == "http://other:4000",
            id="a nested setting with a double underscore",
        ),
        pytest.param(
            "WATCHDOG_RULES",
            "rules,/etc/watchdog/finance.yaml",
            lambda s: s.rules == ("rules", "/etc/watchdog/finance.yaml"),
            id="rules as a comma-separated list",
        ),
        pytest.param(
            "WATCHDOG_RULES",
            " rules , /etc/watchdog/finance.yaml, ",
            lambda s: s.rules == ("rules", "/etc/watchdog/finance.yaml"),
            id="spaces and a trailing comma in the rules list",
        ),
        pytest.param(
            "WATCHDOG_RULES",
            "",
            lambda s: s.rules == ("rules", "extra/finance.yaml"),
            id="an empty rules list leaves the file's rules",
        ),
        pytest.param(
            "WATCHDOG_LITELLM__MASTER_KEY",
            "os.environ/OTHER_KEY",
            lambda s: s.litellm.master_key.reveal() == "other-key-value",
            id="an override may itself name a variable",
        ),
        pytest.param(
            "WATCHDOG_LOG_LEVEL",
            "debug",
            lambda s: s.log_level == "debug",
            id="a choice",
        ),
        pytest.param(
            "WATCHDOG_HTTP__PORT",
            "8080",
            lambda s: s.http.port == 8080,
            id="a number from text",
        ),
    ],
)
def test_env_overrides_win_over_the_file(full: Path, var: str, value: str, read: object) -> None:
    """WATCHDOG_* variables override the file; __ separates nested settings."""
    settings = config.load(full, {**ENV, "OTHER_KEY": "other-key-value", var: value})
    assert callable(read)
    assert read(settings)


def test_unrelated_variables_are_ignored(full: Path) -> None:
    """Variables that name no setting, and WATCHDOG_CONFIG itself, change nothing."""
    plain = config.load(full, ENV)
    noisy = config.load(
        full, {**ENV, "WATCHDOG_CONFIG": "/elsewhere.yaml", "WATCHDOG_COLOUR": "blue", "PATH": "/"}
    )
    assert noisy == plain


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        pytest.param(
            "WATCHDOG_POLL_INTERVAL",
            "soon",
            "poll_interval: expected a duration such as 30m",
            id="a duration",
        ),
        pytest.param("WATCHDOG_LITELLM__PAGE_SIZE", "500", "litellm.page_size:", id="out of range"),
        pytest.param(
            "WATCHDOG_LITELLM__URLL", "http://x", "litellm.urll: unknown setting", id="a typo"
        ),
    ],
)
def test_a_bad_override_names_its_variable(var: str, value: str, fragment: str) -> None:
    """A bad value from the environment says which variable set it."""
    [(_, _, message)] = problems(None, {var: value})
    assert fragment in message
    assert f"(set by {var})" in message


# os.environ/NAME ----------------------------------------------------------------------------


def test_env_references_resolve_from_the_given_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.environ/NAME reads the mapping passed to load, not the process environment."""
    monkeypatch.setenv("LITELLM_MASTER_KEY", "from-the-process")
    path = write(tmp_path, "litellm:\n  master_key: os.environ/LITELLM_MASTER_KEY\n")
    settings = config.load(path, {"LITELLM_MASTER_KEY": "from-the-mapping"})
    assert settings.litellm is not None
    assert settings.litellm.master_key == Secret("from-the-mapping")


def test_plain_settings_may_name_a_variable(tmp_path: Path) -> None:
    """A URL can come from a variable too (e.g. a Kubernetes Secret)."""
    path = write(tmp_path, "litellm:\n  url: os.environ/LITELLM_URL\n")
    settings = config.load(path, {"LITELLM_URL": "http://litellm.internal:4000"})
    assert settings.litellm is not None
    assert settings.litellm.url == "http://litellm.internal:4000"


def test_a_missing_variable_names_the_setting_and_the_variable(tmp_path: Path) -> None:
    """An unset variable is reported at its line with the setting and the variable's name."""
    path = write(
        tmp_path, "litellm:\n  url: http://x\n  master_key: os.environ/LITELLM_MASTER_KEY\n"
    )
    [(line, col, message)] = problems(path, {"OTHER": "sk-not-this-one"})
    assert (line, col) == (3, 15)
    assert message.startswith("litellm.master_key: environment variable LITELLM_MASTER_KEY")
    assert "is not set" in message
    assert "sk-not-this-one" not in message


@pytest.mark.parametrize(
    ("written", "value", "source"),
    [
        pytest.param("os.environ/TOKEN", "t0ken", "os.environ/TOKEN", id="a reference"),
        pytest.param(" os.environ/TOKEN ", "t0ken", "os.environ/TOKEN", id="with spaces"),
        pytest.param("plain-text", "plain-text", "inline", id="inline text"),
        pytest.param("os.environ/", "os.environ/", "inline", id="no name: taken literally"),
    ],
)
def test_resolve_secret(written: str, value: str, source: str) -> None:
    """`os.environ/NAME` reads the variable; anything else is the secret itself."""
    secret = resolve_secret(written, {"TOKEN": "t0ken"})
    assert (secret.reveal(), secret.source) == (value, source)
