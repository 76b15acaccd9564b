"""Run dashboard queries the way Grafana does: variables substituted, against Prometheus's HTTP API."""

from __future__ import annotations

import math
import re
import time

import requests

# Grafana: $__rate_interval = max($__interval + scrape interval, 4 x scrape interval). Every sample of
# the tests lies within the last minute or so, so a window that spans all scrapes is what Grafana
# would use on a short range.
GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
    "__range_s": "3600",
    "__interval_ms": "15000",
}
ALL_VALUE = ".*"  # every query variable has "All" = .*
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|([A-Za-z_][A-Za-z0-9_]*))")


def regex_escape(value: str) -> str:
    """Grafana's Prometheus escaping of one selected value inside a =~"..." matcher:
    a regex escape, written as a PromQL string (so each backslash doubled)."""
    value = value.replace("\\", "\\" * 4)
    return re.sub(r"([$^*+?.()|{}\[\]'])", r"\\\\\1", value)


def grafana_interpolate(expr: str, variables: set[str], selected: dict[str, str] | None = None) -> str:
    """What Grafana sends to Prometheus: built-ins replaced, query variables at their `selected` value, or at All."""
    selected = selected or {}

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name in GRAFANA_BUILTINS:
            return GRAFANA_BUILTINS[name]
        if name in selected:
            return regex_escape(selected[name])
        if name in variables:
            return ALL_VALUE
        raise AssertionError(f"unknown variable ${name} in {expr!r}")

    result = VARIABLE.sub(replace, expr)
    assert "$" not in result, result
    return result


def query_variables(dashboard: dict) -> dict[str, dict]:
    return {v["name"]: v for v in dashboard["templating"]["list"] if v["type"] == "query"}


def has_number(result: list[dict]) -> bool:
    return any(math.isfinite(float(r["value"][1])) for r in result)


class PrometheusAPI:
    """Prometheus's HTTP API; with `at` set, every query is evaluated at that moment (as a dashboard opened
    then would show it), so rate() windows keep covering data that stopped arriving."""

    def __init__(self, url: str, at: float | None = None) -> None:
        self.url = url
        self.at = at

    def get(self, path: str, **params) -> dict:
        answer = requests.get(f"{self.url}{path}", params=params, timeout=10)
        body = answer.json()
        assert body.get("status") == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.get("/api/v1/query", query=expr, **({"time": f"{self.at:.3f}"} if self.at else {}))
        assert data["resultType"] == "vector", (expr, data["resultType"])
        return data["result"]

    def wait_until_scraped(self, job: str, latest: str, since: float, scrapes: int = 3, timeout: float = 60) -> None:
        """Until Prometheus has scraped ``job`` at least ``scrapes`` times (rate() and increase() need two samples;
        one more for margin) and the ``latest`` timestamp query reads ``since`` or later (a scrape after the data
        stopped arriving)."""
        deadline = time.monotonic() + timeout
        while True:
            count = self.query(f'count_over_time(up{{job="{job}"}}[2m])')
            newest = self.query(latest)
            if count and float(count[0]["value"][1]) >= scrapes and newest and float(newest[0]["value"][1]) >= since:
                return
            assert time.monotonic() < deadline, (
                f"Prometheus did not scrape {job} in time: {count} {newest} {self.get('/api/v1/targets')['activeTargets']}"
            )
            time.sleep(1)

    def variable_values(self, dashboard: dict, name: str) -> list[str]:
        """The values a query variable lists, with the variables it depends on at All."""
        variables = query_variables(dashboard)
        match = re.fullmatch(r"label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)", variables[name]["definition"])
        assert match, f"{dashboard['title']} / variable {name}: {variables[name]['definition']}"
        selector = grafana_interpolate(match.group(1), set(variables))
        end = self.at or time.time()
        values = self.get(
            f"/api/v1/label/{match.group(2)}/values", **{"match[]": selector, "start": end - 3600, "end": end}
        )
        return [v for v in values if v]

    def empty_panels(self, dashboard: dict, selected: dict[str, str] | None = None) -> tuple[int, list[str]]:
        """(queries run, one line per query that returned no number) for every panel of the dashboard."""
        variables = set(query_variables(dashboard))
        failures, checked = [], 0
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expr = grafana_interpolate(target["expr"], variables, selected)
                result = self.query(expr)
                checked += 1
                where = f"{dashboard['title']} / {panel['title']} / {target['refId']}"
                if not result:
                    failures.append(f"{where}: no series for {expr}")
                elif not has_number(result):
                    failures.append(f"{where}: only NaN/Inf for {expr}")
        return checked, failures
