"""A LiteLLM proxy config's alerting settings become watchdog budgets and channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from watchdog import config, litellm_config, reload
from watchdog.channel_settings import EmailChannel, SlackChannel, WebhookChannel
from watchdog.cli import main
from watchdog.errors import ConfigError
from watchdog.litellm_config import Derived
from watchdog.model import Scope
from watchdog.rules import Rule

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "litellm_configs"
PEER = HERE.parent / "e2e" / "litellm_peer" / "config.yaml"
RULES = HERE / "good_rules" / "litellm_budgets.yaml"

ENV = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/slack-secret-1111",
    "ENG_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/eng-secret-2222",
    "WEBHOOK_URL": "https://hooks.example.com/budget?token=hook-secret-3333",
    "SMTP_PASSWORD": "smtp-secret-4444",
    "BUDGET_SLACK_URL": "https://hooks.slack.com/services/T0/B0/budget-secret-5555",
}
SECRETS = ("slack-secret-1111", "eng-secret-2222", "hook-secret-3333", "smtp-secret-4444")
NATIVE = ["LiteLLM: key budgets", "LiteLLM: team budgets", "LiteLLM: user budgets"]
PROXY = "LiteLLM: proxy budget"


@dataclass(frozen=True)
class Case:
    """What one config file should turn into."""

    rules: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    errors: list[tuple[int, int, str]] = field(default_factory=list)
    warnings: list[tuple[int, int, str]] = field(default_factory=list)


def derive(path: Path, env: dict[str, str]) -> Derived:
    return litellm_config.load(path, env)


def located(problems: tuple[object, ...]) -> list[tuple[int, int, str]]:
    return [(p.line, p.col, p.message) for p in problems]  # type: ignore[attr-defined]


def matches(seen: list[tuple[int, int, str]], want: list[tuple[int, int, str]]) -> bool:
    if len(seen) != len(want):
        return False
    return all(
        (line, col) == (wl, wc) and fragment in message
        for (line, col, message), (wl, wc, fragment) in zip(sorted(seen), sorted(want), strict=True)
    )


CASES = [
    pytest.param(
        CONFIGS / "full.yaml",
        ENV,
        Case(
            rules=[
                PROXY,
                "LiteLLM: team engineering budget",
                "LiteLLM: team research budget",
                *NATIVE,
            ],
            channels=[
                "litellm-slack",
                "litellm-webhook",
                "litellm-email",
                "litellm-team-engineering-slack",
                "litellm-team-research-email",
            ],
            warnings=[
                (33, 16, "llm_exceptions are not budget alerts"),
                (34, 23, "300 is LiteLLM's limit in seconds for slow and hanging requests"),
                (38, 5, "not understood: general_settings.alerting_args.daily_report_frequency"),
                (49, 3, "not understood: general_settings.spend_report_frequency"),
                (50, 3, "not understood: general_settings.alert_type_config"),
            ],
        ),
        id="every alerting setting: proxy, two teams, natives, five channels",
    ),
    pytest.param(
        PEER,
        {"WEBHOOK_URL": ENV["WEBHOOK_URL"]},
        Case(
            rules=NATIVE,
            channels=["litellm-webhook"],
            warnings=[(32, 23, "not a budget threshold")],
        ),
        id="the real peer proxy's config: webhook alerts on every key, team and user",
    ),
    pytest.param(
        PEER,
        {},
        Case(
            rules=NATIVE,
            errors=[(31, 14, "webhook needs a URL: set webhook_url or")],
            warnings=[(32, 23, "not a budget threshold")],
        ),
        id="alerting: webhook without WEBHOOK_URL is an error at the list item",
    ),
    pytest.param(
        CONFIGS / "budget_only.yaml",
        {},
        Case(rules=[PROXY]),
        id="a proxy budget without alerting still becomes a budget",
    ),
    pytest.param(
        CONFIGS / "misplaced.yaml",
        {},
        Case(
            rules=[PROXY, *NATIVE],
            channels=["litellm-webhook"],
            warnings=[
                (3, 3, "LiteLLM reads alerting from general_settings only"),
                (6, 3, "LiteLLM reads max_budget from litellm_settings only"),
                (7, 3, "LiteLLM reads budget_duration from litellm_settings only"),
                (8, 3, "not understood: general_settings.alerting_budget_mails"),
                (9, 1, "not understood: alert_types at the top level"),
            ],
        ),
        id="settings in the section LiteLLM does not read are used and reported",
    ),
    pytest.param(
        CONFIGS / "missing_env.yaml",
        ENV,
        Case(
            rules=NATIVE,
            errors=[
                (3, 22, "environment variable TEAM_SLACK_HOOK is not set"),
                (5, 14, "environment variable MAIL_RELAY is not set"),
            ],
        ),
        id="a missing environment variable is named where it is referenced",
    ),
    pytest.param(
        CONFIGS / "bad_values.yaml",
        {},
        Case(
            rules=NATIVE,
            channels=["litellm-webhook"],
            errors=[
                (2, 15, "max_budget: expected an amount in USD"),
                (3, 20, "expected a LiteLLM duration such as 30d"),
                (5, 7, "team_id missing"),
                (9, 25, "50 is ambiguous: write 50%"),
                (10, 27, "projected_spend_alerts: expected true or false"),
            ],
            warnings=[(7, 25, "not understood: general_settings.alerting[1]: pagerduty")],
        ),
        id="values watchdog cannot read are errors with their line and column",
    ),
    pytest.param(
        CONFIGS / "env_section.yaml",
        {"BUDGET_SLACK_URL": ENV["BUDGET_SLACK_URL"]},
        Case(
            rules=NATIVE,
            channels=["litellm-slack"],
            warnings=[(7, 5, "llm_exceptions are not budget alerts")],
        ),
        id="alert_to_webhook_url.budget_alerts names the Slack webhook",
    ),
    pytest.param(
        CONFIGS / "env_section.yaml",
        {},
        Case(
            rules=NATIVE,
            errors=[(7, 20, "BUDGET_SLACK_URL is not set")],
            warnings=[(7, 5, "llm_exceptions are not budget alerts")],
        ),
        id="alert_to_webhook_url from a variable that is not set",
    ),
]


@pytest.mark.parametrize(("path", "env", "want"), CASES)
def test_a_litellm_config_becomes_budgets_and_channels(
    path: Path, env: dict[str, str], want: Case
) -> None:
    """Each config yields these budgets, channels, errors and warnings, located file:line:col."""
    derived = derive(path, env)
    assert [r.name for r in derived.rules] == want.rules
    assert list(derived.channels) == want.channels
    assert matches(located(derived.errors), want.errors), derived.errors
    assert matches(located(derived.warnings), want.warnings), derived.warnings
    assert all(str(p).startswith(f"{path}:") for p in (*derived.errors, *derived.warnings))
    assert all(p.message.startswith("warning: ") for p in derived.warnings)


# What each setting means --------------------------------------------------------------------


def rule(derived: Derived, name: str) -> Rule:
    return next(r for r in derived.rules if r.name == name)


def test_alerting_thresholds_become_the_ladder() -> None:
    """alerting_thresholds are the steps below the hard limit; 1.0 is the hard limit itself."""
    derived = derive(CONFIGS / "full.yaml", ENV)
    for budget in derived.rules:
        steps = [t.label for t in budget.alert_at]
        want = ["80%"] if "engineering" in budget.name else ["50%", "75%", "90%"]
        assert steps == want, budget.name
        assert budget.hard_limit is not None
        assert budget.hard_limit.label == "100%"


def test_without_thresholds_the_ladder_is_litellms_own() -> None:
    """LiteLLM alerts at the soft budget, at 15% and 5% left and at max_budget; so does watchdog."""
    derived = derive(PEER, {"WEBHOOK_URL": ENV["WEBHOOK_URL"]})
    for budget in derived.rules:
        assert budget.match == ("*",)
        assert budget.amount is None  # each entity's own max_budget
        assert str(budget.period) == "litellm"
        assert budget.soft_limit is not None
        assert budget.soft_limit.kind == "litellm"
        assert [t.label for t in budget.alert_at] == ["85%", "95%"]
        assert budget.notify == ("litellm-webhook",)
    assert [r.scope for r in derived.rules] == [Scope.KEY, Scope.TEAM, Scope.USER]


@pytest.mark.parametrize(
    ("duration", "period"),
    [
        pytest.param("30d", "monthly", id="30d is a calendar month in LiteLLM"),
        pytest.param("1mo", "monthly", id="1mo"),
        pytest.param("3mo", "quarterly", id="3mo"),
        pytest.param("1d", "daily", id="1d resets at midnight"),
        pytest.param("7d", "7d", id="7d is a fixed length"),
        pytest.param("12h", "12h", id="hours"),
    ],
)
def test_max_budget_and_budget_duration_make_a_proxy_budget(
    tmp_path: Path, duration: str, period: str
) -> None:
    """litellm_settings.max_budget + budget_duration: one `scope: global` budget."""
    path = tmp_path / "proxy.yaml"
    path.write_text(
        "litellm_settings:\n  max_budget: 1500.5\n"
        f"  budget_duration: {duration}\n  timezone: Europe/Stockholm\n"
    )
    derived = derive(path, {})
    (budget,) = derived.rules
    assert budget.name == PROXY
    assert budget.scope is Scope.GLOBAL
    assert budget.amount == Decimal("1500.5")
    assert str(budget.period) == period
    assert str(budget.timezone) == "Europe/Stockholm"
    assert str(derived.origins[PROXY]) == f"{path}:2"


def test_a_proxy_budget_without_duration_is_monthly_and_said_so(tmp_path: Path) -> None:
    """LiteLLM never resets a proxy budget without budget_duration; watchdog says what it does."""
    path = tmp_path / "proxy.yaml"
    path.write_text("litellm_settings:\n  max_budget: 100\n")
    derived = derive(path, {})
    assert str(derived.rules[0].period) == "monthly"
    assert matches(located(derived.warnings), [(2, 15, "budgets it per calendar month")])


def test_default_team_settings_give_teams_their_own_budget_and_channels() -> None:
    """A team with alerting settings gets its budget, its channel, and leaves the catch-all."""
    derived = derive(CONFIGS / "full.yaml", ENV)
    eng = rule(derived, "LiteLLM: team engineering budget")
    assert eng.scope is Scope.TEAM
    assert eng.match == ("engineering",)
    assert eng.amount == Decimal(500)
    assert str(eng.period) == "monthly"
    assert eng.notify == ("litellm-team-engineering-slack",)
    slack = derived.channels["litellm-team-engineering-slack"]
    assert isinstance(slack, SlackChannel)
    assert slack.webhook_url is not None
    assert slack.webhook_url.reveal() == ENV["ENG_SLACK_WEBHOOK_URL"]
    research = rule(derived, "LiteLLM: team research budget")
    assert research.amount is None
    assert research.notify == ("litellm-team-research-email",)
    mail = derived.channels["litellm-team-research-email"]
    assert isinstance(mail, EmailChannel)
    assert mail.to == ("lead@example.com",)
    assert mail.host == "smtp.example.com"  # the proxy's SMTP server
    assert rule(derived, "LiteLLM: team budgets").exclude == ("engineering", "research")
    assert not any("support" in r.name for r in derived.rules)


def test_proxy_channels_carry_litellms_destinations() -> None:
    """slack_webhook_url, webhook_url, email_alerts_to and smtp_* make three channels."""
    derived = derive(CONFIGS / "full.yaml", ENV)
    slack, hook, mail = (derived.channels[f"litellm-{k}"] for k in ("slack", "webhook", "email"))
    assert isinstance(slack, SlackChannel)
    assert slack.webhook_url is not None
    assert slack.webhook_url.source == "os.environ/SLACK_WEBHOOK_URL"
    assert isinstance(hook, WebhookChannel)
    assert hook.url == ENV["WEBHOOK_URL"]
    assert isinstance(mail, EmailChannel)
    assert mail.to == ("finance@example.com", "cto@example.com")
    assert (mail.port, mail.security, mail.username) == (587, "starttls", "budgets@example.com")
    assert mail.password is not None
    assert mail.password.reveal() == ENV["SMTP_PASSWORD"]


def test_litellms_smtp_variables_are_read_too(tmp_path: Path) -> None:
    """LiteLLM's SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD and SMTP_SENDER_EMAIL."""
    path = tmp_path / "mail.yaml"
    path.write_text('general_settings:\n  alerting: ["email"]\n  email_alerts_to: a@example.com\n')
    env = {
        "SMTP_HOST": "relay.example.com",
        "SMTP_PORT": "465",
        "SMTP_USERNAME": "bot",
        "SMTP_PASSWORD": ENV["SMTP_PASSWORD"],
        "SMTP_SENDER_EMAIL": "bot@example.com",
    }
    mail = derive(path, env).channels["litellm-email"]
    assert isinstance(mail, EmailChannel)
    assert (mail.host, mail.port, mail.security, mail.sender) == (
        "relay.example.com",
        465,
        "tls",
        "bot@example.com",
    )
    assert mail.password is not None
    assert mail.password.source == "os.environ/SMTP_PASSWORD"


def test_the_configs_own_environment_variables_are_used(tmp_path: Path) -> None:
    """LiteLLM exports `environment_variables:` at start, so SLACK_WEBHOOK_URL may live there."""
    path = tmp_path / "env.yaml"
    path.write_text(
        "environment_variables:\n  SLACK_WEBHOOK_URL: https://hooks.slack.com/services/a/b/c\n"
        'general_settings:\n  alerting: ["slack"]\n'
    )
    slack = derive(path, {}).channels["litellm-slack"]
    assert isinstance(slack, SlackChannel)
    assert slack.webhook_url is not None
    assert slack.webhook_url.reveal().endswith("/a/b/c")


@pytest.mark.parametrize(
    ("lines", "over", "warned"),
    [
        pytest.param(["projected_spend_alerts: true"], "100%", [], id="on: over the budget"),
        pytest.param(
            ["projected_spend_alerts: true", "projected_spend_threshold: 0.8"],
            "80%",
            [],
            id="with a threshold",
        ),
        pytest.param(
            ["projected_spend_alerts: false", "projected_spend_threshold: 0.8"],
            None,
            [(5, 30, "unused while projected_spend_alerts is false")],
            id="off: the threshold is reported unused",
        ),
    ],
)
def test_projected_spend_alerts_become_forecasts(
    tmp_path: Path, lines: list[str], over: str | None, warned: list[tuple[int, int, str]]
) -> None:
    """projected_spend_alerts / projected_spend_threshold → a forecast on every derived budget."""
    path = tmp_path / "forecast.yaml"
    body = "".join(f"  {line}\n" for line in lines)
    path.write_text(f"litellm_settings:\n  max_budget: 100\ngeneral_settings:\n{body}")
    derived = derive(path, {})
    forecast = derived.rules[0].forecast
    assert (forecast.alert_if_projected_over.label if forecast else None) == over
    assert matches([w for w in located(derived.warnings) if "unused" in w[2]], warned)


def test_budget_alert_ttl_becomes_a_reminder() -> None:
    """LiteLLM repeats a budget alert after budget_alert_ttl; watchdog reminds as often."""
    derived = derive(CONFIGS / "full.yaml", ENV)
    assert {str(r.renotify) for r in derived.rules} == {"1 day, 0:00:00"}


def test_alert_types_without_budget_alerts_derive_no_entity_budgets(tmp_path: Path) -> None:
    """Without budget_alerts in alert_types LiteLLM sends none; watchdog derives none."""
    path = tmp_path / "types.yaml"
    path.write_text(
        "general_settings:\n"
        '  alerting: ["webhook"]\n'
        "  webhook_url: https://hooks.example.com/x\n"
        '  alert_types: ["llm_exceptions"]\n'
    )
    derived = derive(path, {})
    assert derived.rules == ()
    assert any("budget_alerts is not listed" in w.message for w in derived.warnings)


# Secrets -----------------------------------------------------------------------------------


def test_secrets_never_appear_in_problems_repr_or_check_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every secret is resolved, and none is printed, logged in a problem or shown by repr."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    derived = derive(CONFIGS / "full.yaml", ENV)
    assert main(["check", "--litellm-config", str(CONFIGS / "full.yaml")]) == 0
    out, err = capsys.readouterr()
    shown = "\n".join(
        [out, err, repr(derived), *map(str, derived.warnings), *map(repr, derived.rules)]
    )
    assert "channel litellm-slack: slack incoming webhook (os.environ/SLACK_WEBHOOK_URL)" in out
    assert "webhook https://hooks.example.com/…" in out
    for secret in SECRETS:
        assert secret not in shown


def test_a_missing_variable_is_named_never_a_value() -> None:
    """The error names the variable; the values of the variables that are set stay hidden."""
    derived = derive(CONFIGS / "missing_env.yaml", ENV)
    text = "\n".join(map(str, derived.errors))
    assert "TEAM_SLACK_HOOK" in text
    assert "MAIL_RELAY" in text
    assert not any(secret in text for secret in SECRETS)


# budget-watchdog check --litellm-config ----------------------------------------------------


def test_check_with_only_a_litellm_config_lists_what_it_derived(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No rules directory, no ops config: the derived budgets are printed and the exit is 0."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEBHOOK_URL", ENV["WEBHOOK_URL"])
    assert main(["check", "--litellm-config", str(PEER)]) == 0
    out = capsys.readouterr().out
    assert f"{PEER}:32:23: warning: general_settings.alerting_threshold" in out
    assert "budget 'LiteLLM: key budgets'" in out
    assert "3 budgets in 1 file: OK" in out


def test_check_exits_1_on_errors_with_file_line_col(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing variable makes `check` fail, pointing at the line that names it."""
    monkeypatch.delenv("TEAM_SLACK_HOOK", raising=False)
    monkeypatch.delenv("MAIL_RELAY", raising=False)
    assert main(["check", "--litellm-config", str(CONFIGS / "missing_env.yaml")]) == 1
    out, err = capsys.readouterr()
    assert f"{CONFIGS / 'missing_env.yaml'}:3:22: general_settings.slack_webhook_url" in out
    assert "2 problems in 1 file" in err


def test_check_combines_rule_files_and_a_litellm_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Native rule files and the LiteLLM config are checked together."""
    assert main(["check", str(RULES), "--litellm-config", str(CONFIGS / "budget_only.yaml")]) == 0
    assert "budgets in 2 files: OK" in capsys.readouterr().out


def test_a_name_in_both_is_an_error_naming_both_places(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rule file may not reuse a derived budget's name; the message says where each is."""
    native = tmp_path / "rules.yaml"
    native.write_text(
        f'budgets:\n  - name: "{PROXY}"\n    scope: global\n    amount: 10\n    period: daily\n'
    )
    litellm = CONFIGS / "budget_only.yaml"
    assert main(["check", str(native), "--litellm-config", str(litellm)]) == 1
    out = capsys.readouterr().out
    assert f"{litellm}:3:15: budget '{PROXY}' is derived from this LiteLLM setting" in out
    assert f"also defined at {native}:2" in out


def test_check_reads_the_litellm_config_named_in_the_ops_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`litellm_config:` in the ops config is checked, and its channels may be named by rules."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "budgets:\n  - name: Ops\n    scope: global\n    amount: 5\n    period: daily\n"
        "    notify: [litellm-webhook]\n"
    )
    ops = tmp_path / "watchdog.yaml"
    ops.write_text(f"rules: [{rules}]\nlitellm_config: {CONFIGS / 'misplaced.yaml'}\n")
    assert main(["check", "--config", str(ops)]) == 0
    out = capsys.readouterr().out
    assert "channel litellm-webhook: webhook https://hooks.example.com/…" in out
    assert "5 budgets in 2 files: OK" in out


def routing_ops(tmp_path: Path, routing: str, *, litellm: Path | None = None) -> Path:
    """An ops config with a console channel, `routing:` as given and perhaps a LiteLLM config."""
    ops = tmp_path / "watchdog.yaml"
    ops.write_text(
        f"snapshot_file: {tmp_path / 'snapshot.json'}\n"
        + (f"litellm_config: {litellm}\n" if litellm else "")
        + "channels:\n  ops: {type: console}\n"
        + f"routing:\n{routing}"
    )
    return ops


def test_routing_may_name_the_channels_a_litellm_config_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """routing.default and routing.meta name a derived channel: `check` accepts them."""
    monkeypatch.chdir(tmp_path)  # no rules/ directory: the LiteLLM config alone
    routing = "  default: [ops]\n  meta: [litellm-webhook]\n"
    ops = routing_ops(tmp_path, routing, litellm=CONFIGS / "misplaced.yaml")
    assert main(["check", "--config", str(ops)]) == 0
    assert "budgets in 1 file: OK" in capsys.readouterr().out


def test_a_misspelt_derived_channel_in_routing_is_located_in_the_ops_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A litellm-… name the LiteLLM config does not make is an error at its line in routing."""
    monkeypatch.chdir(tmp_path)
    routing = "  default: [ops]\n  meta:\n    - ops\n    - litellm-webhok\n"
    ops = routing_ops(tmp_path, routing, litellm=CONFIGS / "misplaced.yaml")
    assert main(["check", "--config", str(ops)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{ops}:9:7: routing.meta: unknown channel 'litellm-webhok' "
        "(did you mean 'litellm-webhook'?); "
        f"the LiteLLM config {CONFIGS / 'misplaced.yaml'} makes no such channel; "
        "defined channels: litellm-webhook, ops"
    ) in out


def test_check_reads_derived_routing_names_with_the_litellm_config_given_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --litellm-config` lets the ops config's routing name that file's channels."""
    monkeypatch.chdir(tmp_path)
    ops = routing_ops(tmp_path, "  meta: [litellm-webhook]\n")
    litellm = CONFIGS / "misplaced.yaml"
    assert main(["check", "--config", str(ops), "--litellm-config", str(litellm)]) == 0
    capsys.readouterr()
    assert main(["check", "--config", str(ops)]) == 1  # without it, no such channel
    assert "routing.meta: unknown channel 'litellm-webhook'" in capsys.readouterr().out


async def test_the_daemon_routes_meta_alerts_to_a_derived_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build() accepts routing to a derived channel, and refuses one the config lacks."""
    monkeypatch.chdir(tmp_path)
    litellm = CONFIGS / "misplaced.yaml"
    now = datetime(2026, 11, 23, tzinfo=UTC)
    async with aiohttp.ClientSession() as session:
        ops = routing_ops(tmp_path, "  meta: [litellm-webhook]\n", litellm=litellm)
        runtime = await reload.build(str(ops), session=session, now=now, env={})
        await runtime.aclose()
        assert runtime.rules.routing.meta == ("litellm-webhook",)
        assert sorted(runtime.notifiers) == ["litellm-webhook", "ops"]
        ops = routing_ops(tmp_path, "  meta: [litellm-slack]\n", litellm=litellm)
        with pytest.raises(ConfigError, match=r"watchdog.yaml:6:10: routing.meta: unknown"):
            await reload.build(str(ops), session=session, now=now, env={})


# The daemon --------------------------------------------------------------------------------


def write_ops(tmp_path: Path, litellm: Path) -> Path:
    ops = tmp_path / "watchdog.yaml"
    ops.write_text(
        f"snapshot_file: {tmp_path / 'snapshot.json'}\n"
        f"litellm_config: {litellm}\n"
        "channels:\n  litellm-webhook: {type: console}\n"
    )
    return ops


async def test_reload_merges_derived_rules_and_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """build() adds the derived budgets and channels; an ops channel of the same name wins."""
    monkeypatch.chdir(tmp_path)  # no rules/ directory: the LiteLLM config alone
    ops = write_ops(tmp_path, CONFIGS / "misplaced.yaml")
    async with aiohttp.ClientSession() as session:
        runtime = await reload.build(
            str(ops), session=session, now=datetime(2026, 11, 23, tzinfo=UTC), env={}
        )
        await runtime.aclose()
    assert [r.name for r in runtime.rules.rules] == [PROXY, *NATIVE]
    assert runtime.settings.channels["litellm-webhook"].type == "console"
    assert sorted(runtime.notifiers) == ["litellm-webhook"]
    assert runtime.rules.files == (str(CONFIGS / "misplaced.yaml"),)
    assert "channel 'litellm-webhook' from" in caplog.text
    assert "replaced by the one of the same name in the ops config" in caplog.text


async def test_reload_refuses_a_litellm_config_with_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invalid LiteLLM config stops the build like an invalid rule file does."""
    monkeypatch.chdir(tmp_path)
    ops = write_ops(tmp_path, CONFIGS / "bad_values.yaml")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigError, match="team_id missing"):
            await reload.build(
                str(ops), session=session, now=datetime(2026, 11, 23, tzinfo=UTC), env={}
            )


async def test_the_reload_stamp_watches_the_litellm_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing the LiteLLM config changes the stamp the daemon compares, so it reloads."""
    monkeypatch.chdir(tmp_path)
    litellm = tmp_path / "proxy.yaml"
    litellm.write_text("litellm_settings:\n  max_budget: 1\n  budget_duration: 30d\n")
    ops = write_ops(tmp_path, litellm)
    async with aiohttp.ClientSession() as session:
        runtime = await reload.build(
            str(ops), session=session, now=datetime(2026, 11, 23, tzinfo=UTC), env={}
        )
        await runtime.aclose()
    assert str(litellm) in {mark[0] for mark in runtime.stamp}
    settings = runtime.settings
    assert reload.stamp(str(ops), settings.rules, settings.litellm_config) == runtime.stamp
    litellm.write_text("litellm_settings:\n  max_budget: 20\n  budget_duration: 30d\n")
    assert reload.stamp(str(ops), settings.rules, settings.litellm_config) != runtime.stamp


def test_run_takes_litellm_config_as_an_override(tmp_path: Path) -> None:
    """`run --litellm-config FILE` travels as WATCHDOG_LITELLM_CONFIG, which config.load reads."""
    from watchdog.cli import _parser

    args = _parser().parse_args(["run", "--litellm-config", "proxy.yaml", "--once"])
    assert args.litellm_config == "proxy.yaml"
    settings = config.load(None, {"WATCHDOG_LITELLM_CONFIG": "proxy.yaml"})
    assert settings.litellm_config == "proxy.yaml"
