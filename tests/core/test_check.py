"""`budget-watchdog check`: every mistake finance can make, reported as file:line:col: message."""

from __future__ import annotations

import pytest

from tests.core.checking import BAD, Want, at, check

# One file, one mistake (or a few): where it is reported and what the message says ----------

CASES = [
    pytest.param(
        "not_yaml.yaml",
        [at(2, 1, "not valid YAML")],
        id="an INI file saved as .yaml is not YAML",
    ),
    pytest.param(
        "pasted_sentence.yaml",
        [at(5, 27, "not valid YAML", "mapping values are not allowed", "in quotes")],
        id="a sentence with a colon needs quotes",
    ),
    pytest.param(
        "empty.yaml",
        [at(1, 1, "empty file", "`budgets:`")],
        id="an empty file says what it should hold",
    ),
    pytest.param(
        "only_comments.yaml",
        [at(1, 1, "empty file", "`budgets:`")],
        id="a file of comments only is empty",
    ),
    pytest.param(
        "tabs.yaml",
        [at(3, 1, "tab character", "spaces, not tabs")],
        id="a tab used for indentation is pointed at",
    ),
    pytest.param(
        "duplicate_key_in_budget.yaml",
        [at(7, 5, "duplicate key 'amount'", "first defined at line 5")],
        id="amount written twice in one budget: the second is reported",
    ),
    pytest.param(
        "duplicate_top_level_key.yaml",
        [at(7, 1, "duplicate key 'budgets'", "first defined at line 1")],
        id="two budgets: sections in one file",
    ),
    pytest.param(
        "top_level_list.yaml",
        [at(1, 1, "`budgets:`", "indent this list under `budgets:`")],
        id="budgets listed without the budgets: heading",
    ),
    pytest.param(
        "missing_budgets.yaml",
        [at(1, 1, "missing `budgets:`", "list of budgets")],
        id="defaults alone with no budgets section",
    ),
    pytest.param(
        "budgets_not_a_list.yaml",
        [at(2, 3, "budgets:", "expected a list", "`- name:`")],
        id="one budget written without the leading dash",
    ),
    pytest.param(
        "budget_is_a_string.yaml",
        [
            at(
                2,
                5,
                "budgets[0]",
                "expected a mapping starting with `name:`",
                "'Engineering monthly'",
            )
        ],
        id="a budget that is only a name",
    ),
    pytest.param(
        "unknown_field.yaml",
        [
            at(
                6,
                5,
                "unknown field 'perod'",
                "did you mean 'period'?",
                "accepted fields: name, scope",
            )
        ],
        id="a misspelt field suggests the right one and lists every field",
    ),
    pytest.param(
        "missing_name.yaml",
        [at(2, 5, "name: missing required field", "unique name")],
        id="a budget without a name is pointed at, not the top of the file",
    ),
    pytest.param(
        "missing_scope.yaml",
        [at(2, 5, "'Engineering monthly'", "scope: missing required field", "key, team, user")],
        id="a budget without a scope lists the scopes",
    ),
    pytest.param(
        "unknown_scope.yaml",
        [at(3, 12, "scope: unknown value 'teams'", "did you mean 'team'?", "'customer'")],
        id="scope teams suggests team",
    ),
    pytest.param(
        "percent_with_space_over_hard_limit.yaml",
        [at(6, 17, "soft_limit: 150% is above hard_limit 100%")],
        id="150 % as a soft limit is read as 150% and is above the 100% hard limit",
    ),
    pytest.param(
        "percent_not_a_number.yaml",
        [at(6, 17, "soft_limit:", "'abc%'", "80%", "0.8", '"$4000"')],
        id="abc% is not a percentage",
    ),
    pytest.param(
        "percent_negative.yaml",
        [at(6, 21, "alert_at[1]:", "above 0%", "'-5%'")],
        id="a negative percentage in the ladder",
    ),
    pytest.param(
        "percent_too_large.yaml",
        [at(6, 21, "alert_at[1]:", "at most 1000%", "'2000%'")],
        id="2000% is beyond any sensible ladder",
    ),
    pytest.param(
        "bare_number.yaml",
        [at(6, 17, "soft_limit: 80 is ambiguous", "write 80%", '"$80"')],
        id="a bare 80 could be a share or dollars",
    ),
    pytest.param(
        "threshold_zero_dollars.yaml",
        [at(6, 16, "alert_at[0]:", "above $0", "'$0'")],
        id="a step at $0 would always fire",
    ),
    pytest.param(
        "soft_above_hard.yaml",
        [at(6, 17, "soft_limit: $4,500.00 is above hard_limit $4,000.00")],
        id="a warning after the limit is a mistake",
    ),
    pytest.param(
        "duplicate_step.yaml",
        [at(6, 15, "alert_at: 50% is listed twice")],
        id="0.5 and 50% are the same ladder step",
    ),
    pytest.param(
        "cron_day_32.yaml",
        [at(6, 13, "period: invalid cron expression '0 0 32 * *'", "5 fields", '"0 0 1 * *"')],
        id="cron on day 32",
    ),
    pytest.param(
        "cron_six_fields.yaml",
        [at(6, 13, "period: unknown period '0 0 0 1 * *'", "a cron expression such as")],
        id="a six-field cron with seconds",
    ),
    pytest.param(
        "cron_never_occurs.yaml",
        [at(6, 13, "period: cron expression '0 0 30 2 *' never occurs", '"0 0 1 * *"')],
        id="cron on February 30 would never start a period",
    ),
    pytest.param(
        "period_misspelt.yaml",
        [at(6, 13, "period: unknown period 'montly'", "did you mean 'monthly'?", "quarterly")],
        id="montly suggests monthly and lists the periods",
    ),
    pytest.param(
        "unknown_timezone.yaml",
        [at(6, 15, "timezone: unknown time zone", "did you mean 'Europe/Stockholm'?", "IANA")],
        id="a misspelt time zone suggests the right one",
    ),
    pytest.param(
        "forecast_duration_in_words.yaml",
        [at(8, 20, "forecast.min_elapsed:", "30m, 12h, 3d", "'3 days'")],
        id="3 days in words is not a duration",
    ),
    pytest.param(
        "team_without_match.yaml",
        [at(2, 5, "match: required for scope team", 'use "*" for every team')],
        id="a team budget must say which team",
    ),
    pytest.param(
        "global_with_match.yaml",
        [at(4, 12, "match: not used for scope global")],
        id="the proxy-wide budget matches nothing",
    ),
    pytest.param(
        "reset_for_tag.yaml",
        [at(6, 12, "reset: LiteLLM can reset", "not tag")],
        id="LiteLLM cannot reset a tag's spend",
    ),
    pytest.param(
        "block_a_user.yaml",
        [at(6, 20, "on_hard_limit: LiteLLM can block", "not user")],
        id="LiteLLM cannot block a user",
    ),
    pytest.param(
        "block_misspelt.yaml",
        [at(7, 20, "on_hard_limit: unknown value 'blok'", "'notify' or 'block'", "did you mean")],
        id="blok suggests block",
    ),
    pytest.param(
        "litellm_period_for_tag.yaml",
        [at(6, 13, "period: litellm", "scope tag does not have", "monthly, 30d or a cron")],
        id="tags have no LiteLLM reset cycle to follow",
    ),
    pytest.param(
        "tag_without_amount.yaml",
        [at(2, 5, "amount: required for scope tag", "LiteLLM keeps no budget")],
        id="a tag budget needs an amount",
    ),
    pytest.param(
        "litellm_soft_limit_for_tag.yaml",
        [at(6, 17, "soft_limit: LiteLLM keeps no budget for scope tag")],
        id="a tag has no LiteLLM soft budget",
    ),
    pytest.param(
        "amount_in_euros.yaml",
        [at(5, 13, "amount:", "USD", "'5000 EUR'")],
        id="amounts are in US dollars only",
    ),
    pytest.param(
        "negative_amount.yaml",
        [at(5, 13, "amount:", "cannot be negative", "-5000")],
        id="a negative budget",
    ),
    pytest.param(
        "team_filter_on_customer.yaml",
        [at(6, 11, "team: only keys and users belong to a team")],
        id="customers do not belong to teams",
    ),
    pytest.param(
        "alert_at_not_a_list.yaml",
        [at(6, 15, "alert_at: expected a list", "'80%, 90%'")],
        id="a ladder written without brackets",
    ),
    pytest.param(
        "no_limit_at_all.yaml",
        [at(6, 17, "hard_limit:", "at least one of hard_limit, soft_limit, alert_at or forecast")],
        id="a budget that can never alert",
    ),
    pytest.param(
        "defaults_unknown_field.yaml",
        [at(3, 3, "defaults: unknown field 'priod'", "did you mean 'period'?", "timezone")],
        id="a typo in defaults is reported in defaults",
    ),
    pytest.param(
        "defaults_bad_timezone.yaml",
        [at(3, 13, "defaults: timezone:", "did you mean 'Europe/Stockholm'?")],
        id="a bad default is reported once, not again for every budget",
    ),
    pytest.param(
        "defaults_reset_for_tag.yaml",
        [at(3, 10, "budget 'Project X monthly': reset:", "not tag")],
        id="a default that does not fit one budget points at the default",
    ),
    pytest.param(
        "not_utf8.yaml",
        [at(2, 14, "not UTF-8 text", "0xe9", "save the file as UTF-8")],
        id="a Latin-1 e-acute is pointed at",
    ),
    pytest.param(
        "many_mistakes.yaml",
        [
            at(6, 15, "budget 'Engineering monthly': timezone:", "'Mars/Olympus'"),
            at(9, 12, "budget 'Research monthly': scope: unknown value 'teams'"),
            at(17, 17, "budget 'Sales monthly': soft_limit: 80 is ambiguous"),
            at(18, 5, "budget 'Sales monthly': unknown field 'perod'"),
        ],
        id="every mistake in a file is reported, in line order",
    ),
]


@pytest.mark.parametrize(("name", "expected"), CASES)
def test_each_mistake_is_reported_where_it_was_made(
    name: str,
    expected: list[Want],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each malformed file gives exit 1 and exactly the expected file:line:col: messages."""
    monkeypatch.chdir(BAD)
    code, seen, out, err = check(capsys, name)
    assert code == 1, out
    assert [(s.path, s.line, s.col) for s in seen] == [(name, w.line, w.col) for w in expected]
    for problem, want in zip(seen, expected, strict=True):
        for fragment in want.fragments:
            assert fragment in problem.message, f"{fragment!r} not in {problem.message!r}"
    plural = "s" if len(expected) > 1 else ""
    assert f"{len(expected)} problem{plural} in 1 file" in err


def test_every_bad_file_has_an_expectation() -> None:
    """A malformed example added to bad_rules/ without a row in the table fails the suite."""
    listed = {str(p.values[0]) for p in CASES}
    assert listed == {p.name for p in BAD.glob("*.yaml")}
    assert len(listed) >= 25


def test_problems_in_a_file_are_sorted_by_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Problems come out in reading order, so finance can fix a file top to bottom."""
    monkeypatch.chdir(BAD)
    _, seen, _, _ = check(capsys, "many_mistakes.yaml")
    positions = [(s.line, s.col) for s in seen]
    assert len(positions) == 4
    assert positions == sorted(positions)
