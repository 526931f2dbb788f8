"""Backoff and error wording shared by every HTTP source and admin call."""

from __future__ import annotations

import pytest

from watchdog.sources.http import Retry, _detail


@pytest.mark.parametrize(
    ("attempt", "jitter", "retry_after", "delay"),
    [
        pytest.param(0, 0.0, None, 0.25, id="first retry, no jitter: half of 0.5s"),
        pytest.param(0, 1.0, None, 0.5, id="first retry, full jitter: 0.5s"),
        pytest.param(3, 0.5, None, 3.0, id="doubles each time"),
        pytest.param(10, 1.0, None, 10.0, id="capped at 10s"),
        pytest.param(0, 0.0, 4.0, 4.0, id="Retry-After wins when longer"),
        pytest.param(0, 0.0, 600.0, 10.0, id="but never past the cap"),
    ],
)
def test_backoff_grows_with_jitter_and_a_cap(
    attempt: int, jitter: float, retry_after: float | None, delay: float
) -> None:
    """Equal-jitter exponential backoff: half fixed, half random, at most ten seconds."""
    assert Retry(jitter=lambda: jitter).delay(attempt, retry_after) == delay


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(
            '{"error": {"message": "Budget has been exceeded!", "type": "budget_exceeded"}}',
            ": Budget has been exceeded!",
            id="LiteLLM error object",
        ),
        pytest.param('{"detail": {"error": "enterprise only"}}', ": enterprise only", id="detail"),
        pytest.param(
            '{"detail": [{"msg": "Input should be less than or equal to 100"}]}',
            ": Input should be less than or equal to 100",
            id="FastAPI validation list",
        ),
        pytest.param(
            '{"status": "error", "error": "parse error"}', ": parse error", id="Prometheus"
        ),
        pytest.param("<h1>502 Bad Gateway</h1>", ": <h1>502 Bad Gateway</h1>", id="HTML"),
        pytest.param("", "", id="empty"),
    ],
)
def test_error_bodies_are_summarised(body: str, detail: str) -> None:
    """The words an API put in its error body are quoted in our error message."""
    assert _detail(body) == detail
