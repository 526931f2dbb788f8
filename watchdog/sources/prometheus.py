"""The Prometheus source: spend over trailing windows, and the PromQL queries rules define.

Reads LiteLLM's `litellm_spend_metric_total` counter through prometheus-api-client, whose
calls block: each runs on a small pool of worker threads (one client per thread) with the
source's timeout as its deadline, so the event loop never waits on it.
`increase()` already bridges counter resets when the proxy restarts; anything still below
zero is clamped, so a restart never reads as negative spend. Label values are LiteLLM's own
ids (verified on a real proxy): `hashed_api_key` is the key's token hash, `team` the team_id,
`user` the user_id; "None" marks a request without one and is skipped.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import aiohttp
import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException

from watchdog.config import PrometheusSettings
from watchdog.errors import SourceError
from watchdog.model import EntityRef, Scope
from watchdog.money import ZERO
from watchdog.rules import Rule, RuleSet
from watchdog.sources import Reading
from watchdog.sources.http import Retry, first_error
from watchdog.windows import PeriodError, current_period, parse_duration, window_name

NAME = "prometheus"
SPEND = "litellm_spend_metric_total"
RANGE = "$__range"
BY_LABEL = {Scope.KEY: "hashed_api_key", Scope.TEAM: "team", Scope.USER: "user"}
"""Which label of the spend counter names each scope's entity id."""
_MISSING = frozenset({"", "None", "none", "null"})

Series = dict[str, Decimal]


class PrometheusSource:
    """Queries Prometheus once per cycle: rates per key, team and user, and rule queries."""

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: Retry | None = None,
    ) -> None:
        del session  # the client library keeps its own HTTP sessions, one per worker thread
        self._settings = settings
        self._retry = retry or Retry(attempts=settings.retries)
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="prometheus")
        self._local = threading.local()

    @property
    def name(self) -> str:
        return NAME

    async def read(self, *, rules: RuleSet, now: datetime) -> Reading:
        api = self._api()
        windows = {window_key(parse_duration(w)): parse_duration(w) for w in self._settings.windows}
        queries = {rule.name: rule_query(rule, now) for rule in _query_rules(rules)}
        try:
            async with asyncio.TaskGroup() as tg:
                rates = {
                    (scope, key): tg.create_task(
                        _vector(api, rate_query(label, span), now), name=f"prometheus:{scope}:{key}"
                    )
                    for scope, label in BY_LABEL.items()
                    for key, span in windows.items()
                }
                found = {
                    name: tg.create_task(
                        _vector(api, text, now, rule=name), name=f"prometheus:{name}"
                    )
                    for name, text in queries.items()
                }
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        return Reading(
            source=NAME,
            taken_at=now,
            rates=_rates({k: t.result() for k, t in rates.items()}),
            queries=MappingProxyType(
                {name: MappingProxyType(_by_series(t.result())) for name, t in found.items()}
            ),
            requests=api.requests,
        )

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _api(self) -> PromApi:
        return PromApi(self._settings, retry=self._retry, pool=self._pool, local=self._local)


WORKERS = 4
_STATUS = re.compile(r"HTTP Status Code (\d{3})")
_ERROR = re.compile(r'"error":\s*"((?:[^"\\]|\\.)*)"')


class PromApi:
    """Instant queries through prometheus-api-client on worker threads; counts requests."""

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        retry: Retry,
        pool: ThreadPoolExecutor,
        local: threading.local,
    ) -> None:
        self._settings = settings
        self._retry = retry
        self._pool = pool
        self._local = local
        self._secrets = tuple(s.reveal() for s in settings.headers.values() if s.reveal())
        self.requests = 0

    async def get(self, path: str, params: Mapping[str, str]) -> Any:
        """The body of an instant query, shaped like /api/v1/query's answer."""
        del path
        attempt = 0
        while True:
            self.requests += 1
            try:
                return await self._once(params["query"], params["time"])
            except SourceError as exc:
                if not exc.retryable or attempt >= self._retry.attempts:
                    raise
                await self._retry.sleep(self._retry.delay(attempt))
                attempt += 1

    async def _once(self, query: str, at: str) -> Any:
        deadline = self._settings.timeout.total_seconds()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(deadline + 1):
                result = await loop.run_in_executor(self._pool, self._query, query, at)
        except TimeoutError:
            raise SourceError(
                f"Prometheus did not answer within {deadline:g}s", retryable=True
            ) from None
        return {"status": "success", "data": {"resultType": _kind(result), "result": result}}

    def _query(self, query: str, at: str) -> Any:
        """Runs on a worker thread; one client (and HTTP session) per thread."""
        client: PrometheusConnect | None = getattr(self._local, "client", None)
        if client is None:
            headers = {name: s.reveal() for name, s in self._settings.headers.items()}
            client = PrometheusConnect(
                url=self._settings.url,
                headers=headers or None,
                disable_ssl=False,
                timeout=int(self._settings.timeout.total_seconds()) or 1,
            )
            self._local.client = client
        try:
            return client.custom_query(query, params={"time": at})
        except PrometheusApiClientException as exc:
            raise self._http_error(str(exc)) from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise SourceError(
                f"Prometheus at {self._settings.url} unreachable: {type(exc).__name__}",
                retryable=True,
            ) from None
        except (requests.RequestException, ValueError) as exc:
            raise SourceError(
                f"Prometheus answered something unreadable: {type(exc).__name__}", retryable=True
            ) from None

    def _http_error(self, text: str) -> SourceError:
        match = _STATUS.search(text)
        status = int(match[1]) if match else 0
        said = _ERROR.search(text)
        detail = self._scrub(said[1] if said else text.split("(", 1)[-1].rstrip(")"))[:200]
        if status in (401, 403):
            return SourceError(
                f"Prometheus refused the query with HTTP {status}: check "
                "prometheus.headers (the credentials Prometheus expects)",
                retryable=False,
            )
        retryable = status == 429 or status >= 500 or status == 0
        return SourceError(
            f"Prometheus rejected the query with HTTP {status}: {detail}", retryable=retryable
        )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _kind(result: Any) -> str:
    """custom_query returns only `result`: a list of series, or one [time, value] scalar."""
    if isinstance(result, list) and any(isinstance(r, dict) and "values" in r for r in result):
        return "matrix"
    if isinstance(result, list) and (not result or isinstance(result[0], dict)):
        return "vector"
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return "scalar"
    return type(result).__name__


def rate_query(label: str, span: timedelta) -> str:
    """Spend per `label` over the trailing `span`."""
    return f"sum by ({label}) (increase({SPEND}[{duration(span)}]))"


def rule_query(rule: Rule, now: datetime) -> str:
    """The rule's PromQL with `$__range` replaced by its period so far (e.g. "3600s")."""
    assert rule.query is not None
    try:
        period = current_period(rule.period, rule.timezone, now, anchor=rule.anchor)
    except PeriodError as exc:
        raise SourceError(f"budget {rule.name!r}: {exc}", retryable=False) from None
    return rule.query.replace(RANGE, duration(period.elapsed(now)))


def duration(span: timedelta) -> str:
    """A PromQL duration in whole seconds, at least one."""
    return f"{max(1, int(span.total_seconds()))}s"


def window_key(span: timedelta) -> str:
    """How forecasts name a window (see windows.window_name): "1h", "1d" (24h), "7d"."""
    return window_name(span)


def series_name(labels: Mapping[str, str]) -> str:
    """A readable name for one result series: its only label's value, or "a=1, b=2"."""
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if not shown:
        return "total"
    if len(shown) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


def _query_rules(rules: RuleSet) -> list[Rule]:
    return [r for r in rules.enabled() if r.scope is Scope.QUERY and r.query]


async def _vector(
    api: PromApi, query: str, now: datetime, *, rule: str | None = None
) -> list[tuple[Mapping[str, str], Decimal]]:
    """An instant query evaluated at `now`: (labels, value) per series, NaN/Inf left out."""
    try:
        body = await api.get("/api/v1/query", {"query": query, "time": f"{now.timestamp():.3f}"})
    except SourceError as exc:
        if rule is None:
            raise
        raise SourceError(f"budget {rule!r}: {exc}", retryable=exc.retryable) from None
    data = body.get("data") if isinstance(body, dict) else None
    kind = data.get("resultType") if isinstance(data, dict) else None
    result: Any = data.get("result") if isinstance(data, dict) else None
    if kind == "scalar" and isinstance(result, list):
        value = _number(result)
        return [] if value is None else [({}, value)]
    if kind != "vector" or not isinstance(result, list):
        where = f"budget {rule!r}: " if rule else ""
        raise SourceError(
            f"{where}Prometheus query {query!r} did not return an instant vector "
            f"(got {kind or type(body).__name__})",
            retryable=rule is None,
        )
    out: list[tuple[Mapping[str, str], Decimal]] = []
    for item in result:
        if isinstance(item, dict) and isinstance(item.get("metric"), dict):
            value = _number(item.get("value"))
            if value is not None:
                out.append(({str(k): str(v) for k, v in item["metric"].items()}, value))
    return out


def _number(sample: object) -> Decimal | None:
    """The value of a [timestamp, "1.23"] sample, clamped at zero; None for NaN or Inf."""
    if not isinstance(sample, list) or len(sample) != 2:
        return None
    try:
        value = Decimal(str(sample[1]))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return max(value, ZERO)


def _rates(
    results: Mapping[tuple[Scope, str], list[tuple[Mapping[str, str], Decimal]]],
) -> Mapping[EntityRef, Mapping[str, Decimal]]:
    rates: dict[EntityRef, dict[str, Decimal]] = {}
    for (scope, window), series in results.items():
        label = BY_LABEL[scope]
        for labels, value in series:
            entity = labels.get(label, "")
            if entity not in _MISSING:
                rates.setdefault(EntityRef(scope, entity), {})[window] = value
    return MappingProxyType({ref: MappingProxyType(r) for ref, r in rates.items()})


def _by_series(series: list[tuple[Mapping[str, str], Decimal]]) -> Series:
    out: Series = {}
    for labels, value in series:
        name = series_name(labels)
        out[name] = out.get(name, ZERO) + value
    return out
