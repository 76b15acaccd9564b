"""The dashboards' PromQL: selectors and the counter and histogram queries, as strings.

A server's own instruments are selected under both servers' prefixes
(``{__name__=~"(ogx|llama_stack)_..."}``), so the same query serves OGX 1.x and
Llama Stack 0.7.x, and a stack receiving both.  Every histogram query works on
classic bucket series and on the native histograms Prometheus stores when an app
sends exponential histograms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from telemetry_stack.catalog import Instrument

RATE_WINDOW = "$__rate_interval"
RANGE_WINDOW = "$__range"

Matcher = tuple[str, str, str]  # (attribute, operator, value)

NOT_SUCCESS: Matcher = ("status", "!=", "success")

# The collector's prometheus exporter turns the app's OpenTelemetry ``service.name``
# into the ``job`` label, and our scrape config keeps it (honor_labels: true).  It is
# a target label, not an instrument attribute, so it is named here, not in the catalog.
SERVICE_VARIABLE = "service"
SERVICE_LABEL = "job"
SERVICE_MATCHER = f'{SERVICE_LABEL}=~"${SERVICE_VARIABLE}"'


def _selector(pattern: str, inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = ()) -> str:
    """``name{job=~"$service",label=~"$attr",...}``; each variable is named like its attribute.

    ``pattern`` is a series name or, for a server's own instrument, a regex over both
    servers' names (then matched as ``__name__``).  Every query selects its series
    here, so every panel and chained variable honours the service variable; only
    that variable's own query leaves it out.
    """
    parts = [SERVICE_MATCHER]
    parts += [f'{inst.label(a)}=~"${a}"' for a in variables]
    parts += [f'{inst.label(a)}{op}"{value}"' for a, op, value in matchers]
    if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", pattern):
        return f"{pattern}{{{','.join(parts)}}}"
    return f'{{__name__=~"{pattern}",{",".join(parts)}}}'


def _histogram_series(inst: Instrument) -> str:
    """Name pattern that finds a histogram's labels whether it arrives classic or native."""
    return inst.name_pattern() + "(_count)?"


def _by(inst: Instrument, attrs: Sequence[str], extra: Sequence[str] = ()) -> str:
    labels = list(extra) + [inst.label(a) for a in attrs]
    return f"sum by ({', '.join(labels)}) " if labels else "sum"


def _rate(
    inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (), by: Sequence[str] = ()
) -> str:
    """Summed per-second rate of a counter."""
    sel = _selector(inst.name_pattern(), inst, variables, matchers)
    return f"{_by(inst, by)}(rate({sel}[{RATE_WINDOW}]))"


def _increase(inst: Instrument, variables: Iterable[str] = (), by: Sequence[str] = ()) -> str:
    """Summed increase of a counter over the dashboard's time range."""
    sel = _selector(inst.name_pattern(), inst, variables)
    return f"{_by(inst, by)}(increase({sel}[{RANGE_WINDOW}]))"


# Each histogram query (parenthesised, so it composes) has a classic half (the _bucket/_sum/_count
# series) and a native half (the one series Prometheus stores when the app sends exponential
# histograms), joined by `or`: an app sends one kind or the other, and the `or` sits outside
# histogram_quantile, which would drop a group that mixes both.


def _native_rate(inst: Instrument, variables: Iterable[str], matchers: Iterable[Matcher], by: Sequence[str]) -> str:
    sel = _selector(inst.name_pattern(), inst, variables, matchers)
    return f"{_by(inst, by)}(rate({sel}[{RATE_WINDOW}]))"


def _classic_rate(
    inst: Instrument,
    suffix: str,
    variables: Iterable[str],
    matchers: Iterable[Matcher],
    by: Sequence[str],
    extra: Sequence[str] = (),
) -> str:
    sel = _selector(inst.name_pattern(suffix), inst, variables, matchers)
    return f"{_by(inst, by, extra)}(rate({sel}[{RATE_WINDOW}]))"


def _observations(
    inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (), by: Sequence[str] = ()
) -> str:
    """Observations per second of a histogram (requests/s for a duration histogram)."""
    return (
        f"({_classic_rate(inst, 'count', variables, matchers, by)} or "
        f"histogram_count({_native_rate(inst, variables, matchers, by)}))"
    )


def _sum_rate(inst: Instrument, variables: Iterable[str] = (), by: Sequence[str] = ()) -> str:
    """Per-second sum of a histogram's observed values (tokens/s for a token histogram)."""
    return (
        f"({_classic_rate(inst, 'sum', variables, (), by)} or histogram_sum({_native_rate(inst, variables, (), by)}))"
    )


def _average(
    inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (), by: Sequence[str] = ()
) -> str:
    """The exact mean of a histogram's observations, whatever its buckets."""
    classic = (
        f"{_classic_rate(inst, 'sum', variables, matchers, by)} / "
        f"{_classic_rate(inst, 'count', variables, matchers, by)}"
    )
    return f"(({classic}) or histogram_avg({_native_rate(inst, variables, matchers, by)}))"


def _quantile(
    q: float, inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (), by: Sequence[str] = ()
) -> str:
    classic = _classic_rate(inst, "bucket", variables, matchers, by, ["le"])
    native = _native_rate(inst, variables, matchers, by)
    return f"(histogram_quantile({q}, {classic}) or histogram_quantile({q}, {native}))"


def _error_ratio(errors: str, total: str) -> str:
    """errors / total, reading 0 (not "no data") while there are requests but no errors."""
    return f"({errors} or {total} * 0) / {total}"
