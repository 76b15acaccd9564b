"""An in-memory Prometheus over the series the real collector exported (tests/data/collector_series.prom.gz).

:func:`load` reads what ``scripts/capture_collector_series.py`` captured: counters, gauges and classic histogram
series as text exposition lines, and native histograms in the ``{{schema:.. buckets:[index:count ..]}}`` notation.
:func:`parse` turns a PromQL query into a small syntax tree, and :class:`Evaluator` evaluates it over the captured
series, for the query shapes our dashboards use: selectors (``__name__=~`` included), ``rate`` and ``increase``,
``sum``/``count``/``avg``/``min``/``max`` with ``by`` or ``without``, ``or``, arithmetic, ``vector``,
``histogram_quantile`` over classic buckets and native histograms, and ``histogram_count``/``_sum``/``_avg``.

The capture is one scrape of cumulative values, all counted from zero by apps started together, so ``increase``
reads a series' value and ``rate`` that value over the window: every series then has the same scale, which is what
ratios, averages and percentiles need. The quantiles follow Prometheus 3's ``promql/quantile.go``: linear
interpolation in classic buckets, logarithmic within exponential ones.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "collector_series.prom.gz"
NAME = "__name__"

Labels = dict[str, str]


# --- native histograms ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Native:
    """A native histogram with exponential buckets: {bucket index: count} on each side of the zero bucket."""

    schema: int
    count: float
    sum: float
    zero_count: float
    zero_threshold: float
    positive: dict[int, float]
    negative: dict[int, float] = field(default_factory=dict)

    def scaled(self, factor: float) -> Native:
        return Native(
            self.schema,
            self.count * factor,
            self.sum * factor,
            self.zero_count * factor,
            self.zero_threshold,
            {i: c * factor for i, c in self.positive.items()},
            {i: c * factor for i, c in self.negative.items()},
        )

    def at_schema(self, schema: int) -> Native:
        """The same observations in the coarser buckets of ``schema`` (each merges 2^(delta) buckets)."""
        assert schema <= self.schema
        delta = self.schema - schema

        def merge(buckets: dict[int, float]) -> dict[int, float]:
            merged: dict[int, float] = {}
            for index, count in buckets.items():
                target = ((index - 1) >> delta) + 1  # Prometheus's targetIdx
                merged[target] = merged.get(target, 0.0) + count
            return merged

        return Native(
            schema,
            self.count,
            self.sum,
            self.zero_count,
            self.zero_threshold,
            merge(self.positive),
            merge(self.negative),
        )

    def __add__(self, other: Native) -> Native:
        return Native.total([self, other])

    @staticmethod
    def total(histograms: list[Native]) -> Native:
        """The sum of histograms, in the coarsest schema among them (as Prometheus adds them)."""
        if len({h.zero_threshold for h in histograms}) != 1:
            raise NotImplementedError("adding native histograms of different zero thresholds")
        schema = min(h.schema for h in histograms)
        positive: dict[int, float] = {}
        negative: dict[int, float] = {}
        for histogram in histograms:
            same = histogram if histogram.schema == schema else histogram.at_schema(schema)
            for index, count in same.positive.items():
                positive[index] = positive.get(index, 0.0) + count
            for index, count in same.negative.items():
                negative[index] = negative.get(index, 0.0) + count
        return Native(
            schema,
            sum(h.count for h in histograms),
            sum(h.sum for h in histograms),
            sum(h.zero_count for h in histograms),
            histograms[0].zero_threshold,
            positive,
            negative,
        )

    def _bound(self, index: int) -> float:
        return 2.0 ** (index / 2.0**self.schema)

    def buckets(self) -> list[tuple[float, float, float]]:
        """(lower, upper, count) of every bucket, from the lowest value up; the zero bucket if it counted any."""
        out = [(-self._bound(i), -self._bound(i - 1), self.negative[i]) for i in sorted(self.negative, reverse=True)]
        if self.zero_count > 0:
            out.append((-self.zero_threshold, self.zero_threshold, self.zero_count))
        out += [(self._bound(i - 1), self._bound(i), self.positive[i]) for i in sorted(self.positive)]
        return out

    def quantile(self, q: float) -> float:
        """Prometheus's HistogramQuantile for exponential buckets (no NaN observations here)."""
        if q < 0:
            return -math.inf
        if q > 1:
            return math.inf
        if self.count == 0 or math.isnan(q):
            return math.nan
        forward = q < 0.5
        buckets = self.buckets() if forward else self.buckets()[::-1]
        rank = q * self.count if forward else (1 - q) * self.count
        count = 0.0
        chosen = (0.0, 0.0, 0.0)
        for bucket in buckets:
            if bucket[2] == 0:
                continue
            chosen = bucket
            count += bucket[2]
            if count >= rank:
                break
        lower, upper, bucket_count = chosen
        if lower < 0 < upper:
            if not self.negative and self.positive:
                lower = 0.0
            elif not self.positive and self.negative:
                upper = 0.0
        count = min(count, self.count)
        if count < rank:
            return upper
        rank = rank - (count - bucket_count) if forward else count - rank
        fraction = rank / bucket_count
        if lower <= 0 <= upper:
            return lower + (upper - lower) * fraction
        log_lower, log_upper = math.log2(abs(lower)), math.log2(abs(upper))
        if lower > 0:
            return 2.0 ** (log_lower + (log_upper - log_lower) * fraction)
        return -(2.0 ** (log_upper + (log_lower - log_upper) * (1 - fraction)))


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's BucketQuantile: the q-quantile of classic (upper bound, cumulative count) buckets."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if not buckets:
        return math.nan
    ordered = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(ordered[-1][0]):
        return math.nan
    coalesced: list[list[float]] = []
    for bound, count in ordered:  # equal upper bounds count together
        if coalesced and coalesced[-1][0] == bound:
            coalesced[-1][1] += count
        else:
            coalesced.append([bound, count])
    previous = coalesced[0][1]
    for bucket in coalesced[1:]:  # a decrease (or a tiny float wobble) takes the count before it
        if bucket[1] != previous and (
            bucket[1] < previous or math.isclose(bucket[1], previous, rel_tol=1e-12, abs_tol=0)
        ):
            bucket[1] = previous
        else:
            previous = bucket[1]
    if len(coalesced) < 2:
        return math.nan
    observations = coalesced[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(coalesced) - 1) if coalesced[i][1] >= rank), len(coalesced) - 1)
    if b == len(coalesced) - 1:
        return coalesced[-2][0]
    if b == 0 and coalesced[0][0] <= 0:
        return coalesced[0][0]
    start, end, count = 0.0, coalesced[b][0], coalesced[b][1]
    if b > 0:
        start = coalesced[b - 1][0]
        count -= coalesced[b - 1][1]
        rank -= coalesced[b - 1][1]
    return start + (end - start) * (rank / count)


# --- the captured series ------------------------------------------------------------------------------------------

Value = float | Native


@dataclass(frozen=True)
class Series:
    labels: Labels  # __name__ included
    value: Value

    @cached_property
    def plain(self) -> Labels:
        """The labels without the metric name, as every function and operator leaves them."""
        return {k: v for k, v in self.labels.items() if k != NAME}


LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+|\{\{.*\}\})$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
UNESCAPE = {"n": "\n", "\\": "\\", '"': '"'}
NATIVE_FIELD = re.compile(r"(\w+):(\[[^\]]*\]|\S+)")


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: UNESCAPE[m[1]], value) if "\\" in value else value


def parse_labels(text: str | None) -> Labels:
    return {n: _unescape(v) for n, v in LABEL.findall(text or "")}


def parse_native(text: str) -> Native:
    fields = dict(NATIVE_FIELD.findall(text[2:-2]))

    def buckets(key: str) -> dict[int, float]:
        pairs = fields.get(key, "[]")[1:-1].split()
        return {int(i): float(c) for i, c in (p.split(":") for p in pairs)}

    return Native(
        int(fields["schema"]),
        float(fields["count"]),
        float(fields["sum"]),
        float(fields["z_bucket"]),
        float(fields["z_bucket_w"]),
        buckets("buckets"),
        buckets("n_buckets"),
    )


class Captured:
    """The captured families: their types, series and header."""

    def __init__(self, text: str) -> None:
        self.header: list[str] = []
        self.types: dict[str, str] = {}
        self.series: list[Series] = []
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, family, kind = line.split()
                self.types[family] = kind
            elif line.startswith("#"):
                self.header.append(line[1:].strip())
            elif line:
                match = LINE.match(line)
                assert match, f"not a sample line: {line!r}"
                value: Value = parse_native(match[3]) if match[3].startswith("{{") else float(match[3])
                self.series.append(Series({NAME: match[1], **parse_labels(match[2])}, value))
        self.by_name: dict[str, list[Series]] = {}
        for series in self.series:
            self.by_name.setdefault(series.labels[NAME], []).append(series)

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(self.by_name)

    @lru_cache(maxsize=1024)  # noqa: B019 - one Captured lives as long as the test session
    def labels_of(self, name: str) -> frozenset[str]:
        """Every label some series of ``name`` carries."""
        return frozenset(label for s in self.by_name.get(name, ()) for label in s.labels if label != NAME)

    def values_of(self, label: str, series: Iterable[Series] | None = None) -> set[str]:
        return {s.labels[label] for s in (self.series if series is None else series) if label in s.labels}

    @lru_cache(maxsize=4096)  # noqa: B019 - one Captured lives as long as the test session
    def select(self, selector: Selector) -> tuple[Series, ...]:
        """The series a selector (without its range) selects."""
        names = [m for m in selector.matchers if m.label == NAME]
        others = [m for m in selector.matchers if m.label != NAME]
        candidates = [n for n in self.by_name if all(m.matches(n) for m in names)]
        return tuple(
            s for n in candidates for s in self.by_name[n] if all(m.matches(s.labels.get(m.label, "")) for m in others)
        )


def load(path: Path = DATA) -> Captured:
    return Captured(gzip.decompress(path.read_bytes()).decode())


# --- PromQL, the subset our dashboards use ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str

    def matches(self, value: str) -> bool:
        return _matches(self.op, self.value, value)

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{self.value}"'


@lru_cache(maxsize=65536)
def _matches(op: str, pattern: str, value: str) -> bool:
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    found = re.fullmatch(pattern, value) is not None  # Prometheus anchors every regex at both ends
    return found if op == "=~" else not found


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Selector:
    matchers: tuple[Matcher, ...]  # the name, if written before the braces, as a __name__ matcher
    range: float | None = None  # seconds

    @property
    def name_matchers(self) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m.label == NAME)

    @property
    def label_matchers(self) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m.label != NAME)

    def without_range(self) -> Selector:
        return Selector(self.matchers)


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Aggregate:
    op: str
    expr: Node
    grouping: tuple[str, ...] = ()
    without: bool = False


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: Node
    rhs: Node


Node = Number | Selector | Call | Aggregate | Binary

AGGREGATIONS = {"sum", "count", "avg", "min", "max"}
FUNCTIONS = {
    "rate",
    "increase",
    "vector",
    "histogram_quantile",
    "histogram_count",
    "histogram_sum",
    "histogram_avg",
}
PRECEDENCE = {"or": 1, "unless": 1, "and": 2, "+": 4, "-": 4, "*": 5, "/": 5, "%": 5}
DURATION = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)(?P<unit>ms|[smhdwy])?
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
      | (?P<op>=~|!~|!=|==|=|[-+*/%^(){}\[\],])
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = TOKEN.match(text, pos)
        if not match:
            raise QueryError(f"cannot read {text[pos : pos + 30]!r} in {text!r}")
        pos = match.end()
        if match["number"] is not None:
            if match["unit"]:
                tokens.append(("duration", match["number"] + match["unit"]))
            else:
                tokens.append(("number", match["number"]))
        elif match["string"] is not None:
            tokens.append(("string", match["string"]))
        elif match["ident"] is not None:
            tokens.append(("ident", match["ident"]))
        else:
            tokens.append(("op", match["op"]))
    return tokens


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), literal[1:-1])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> str:
        kind, token = self.peek()
        if kind == "end" or (value is not None and token != value):
            raise QueryError(f"expected {value or 'more'} at token {self.pos} of {self.text!r}, found {token!r}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek()[0] != "end":
            raise QueryError(f"unexpected {self.peek()[1]!r} in {self.text!r}")
        return node

    def expression(self, floor: int) -> Node:
        lhs = self.unary()
        while True:
            kind, token = self.peek()
            precedence = PRECEDENCE.get(token) if kind in ("op", "ident") else None
            if precedence is None or precedence <= floor:
                return lhs
            self.take()
            if self.peek()[1] in ("on", "ignoring", "group_left", "group_right", "bool"):
                raise QueryError(f"vector matching modifiers are not supported: {self.text!r}")
            lhs = Binary(token, lhs, self.expression(precedence))

    def unary(self) -> Node:
        kind, token = self.peek()
        if kind == "op" and token == "-":
            self.take()
            return Binary("*", Number(-1), self.unary())
        if kind == "number":
            self.take()
            return Number(float(token))
        if kind == "op" and token == "(":
            self.take()
            node = self.expression(0)
            self.take(")")
            return node
        if kind == "op" and token == "{":
            return self.selector(None)
        if kind == "ident" and token in AGGREGATIONS and self._aggregation_follows():
            return self.aggregation()
        if kind == "ident" and self.tokens[self.pos + 1 : self.pos + 2] == [("op", "(")]:
            return self.call()
        if kind == "ident":
            self.take()
            return self.selector(token)
        raise QueryError(f"unexpected {token!r} in {self.text!r}")

    def _aggregation_follows(self) -> bool:
        after = self.tokens[self.pos + 1 : self.pos + 2]
        return after in ([("op", "(")], [("ident", "by")], [("ident", "without")])

    def grouping(self) -> tuple[str, ...]:
        self.take("(")
        labels = []
        while self.peek()[1] != ")":
            labels.append(self.take())
            if self.peek()[1] == ",":
                self.take(",")
        self.take(")")
        return tuple(labels)

    def aggregation(self) -> Aggregate:
        op = self.take()
        grouping: tuple[str, ...] = ()
        without = False
        if self.peek()[1] in ("by", "without"):
            without = self.take() == "without"
            grouping = self.grouping()
        self.take("(")
        expr = self.expression(0)
        self.take(")")
        if self.peek()[1] in ("by", "without"):
            without = self.take() == "without"
            grouping = self.grouping()
        return Aggregate(op, expr, grouping, without)

    def call(self) -> Call:
        function = self.take()
        if function not in FUNCTIONS:
            raise QueryError(f"function {function}() is not supported: {self.text!r}")
        self.take("(")
        args = []
        while self.peek()[1] != ")":
            args.append(self.expression(0))
            if self.peek()[1] == ",":
                self.take(",")
        self.take(")")
        return Call(function, tuple(args))

    def selector(self, name: str | None) -> Selector:
        matchers = [Matcher(NAME, "=", name)] if name else []
        if self.peek()[1] == "{":
            self.take("{")
            while self.peek()[1] != "}":
                label = self.take()
                op = self.take()
                if op not in ("=", "!=", "=~", "!~"):
                    raise QueryError(f"bad matcher operator {op!r} in {self.text!r}")
                kind, literal = self.peek()
                if kind != "string":
                    raise QueryError(f"expected a string after {label}{op} in {self.text!r}")
                self.take()
                matchers.append(Matcher(label, op, _unquote(literal)))
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("}")
        if not matchers:
            raise QueryError(f"empty selector in {self.text!r}")
        seconds = None
        if self.peek()[1] == "[":
            self.take("[")
            duration = self.take()
            self.take("]")
            match = re.fullmatch(r"([\d.]+)(ms|[smhdwy])", duration)
            if not match:
                raise QueryError(f"bad range {duration!r} in {self.text!r}")
            seconds = float(match[1]) * DURATION[match[2]]
        return Selector(tuple(matchers), seconds)


@lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    return _Parser(text).parse()


def walk(node: Node) -> Iterator[Node]:
    """The node and every node below it, parents first."""
    yield node
    if isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Aggregate):
        yield from walk(node.expr)
    elif isinstance(node, Binary):
        yield from walk(node.lhs)
        yield from walk(node.rhs)


def transform(node: Node, change: Callable[[Node], Node | None]) -> Node:
    """A copy of the tree with every node for which ``change`` returns something replaced by that."""
    replaced = change(node)
    if replaced is not None:
        return replaced
    if isinstance(node, Call):
        return Call(node.function, tuple(transform(a, change) for a in node.args))
    if isinstance(node, Aggregate):
        return Aggregate(node.op, transform(node.expr, change), node.grouping, node.without)
    if isinstance(node, Binary):
        return Binary(node.op, transform(node.lhs, change), transform(node.rhs, change))
    return node


# --- evaluation ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    labels: Labels
    value: Value

    @property
    def signature(self) -> tuple[tuple[str, str], ...]:
        """The labels vector matching compares: all but the metric name."""
        return tuple(sorted((k, v) for k, v in self.labels.items() if k != NAME))


Vector = list[Element]


def _drop_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != NAME}


def _arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b
    if op == "%":
        return math.fmod(a, b) if b else math.nan
    raise QueryError(f"operator {op} is not supported")


class Evaluator:
    """Evaluates parsed queries over the captured series at the moment of the capture."""

    def __init__(self, captured: Captured) -> None:
        self.captured = captured
        self._results: dict[Node, float | Vector] = {}

    def __call__(self, query: str | Node) -> float | Vector:
        """The query's value (remembered: the captured series never change); do not modify what it returns."""
        node = parse(query) if isinstance(query, str) else query
        if node not in self._results:
            self._results[node] = self.eval(node)
        return self._results[node]

    def vector(self, query: str | Node) -> Vector:
        result = self(query)
        if not isinstance(result, list):
            raise QueryError(f"{query} is a scalar, not a vector")
        return result

    def eval(self, node: Node) -> float | Vector:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Selector):
            if node.range is not None:
                raise QueryError("a range selector outside rate() or increase()")
            return [Element(s.labels, s.value) for s in self.captured.select(node)]
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Aggregate):
            return self._aggregate(node)
        return self._binary(node)

    def _call(self, node: Call) -> float | Vector:
        name, args = node.function, node.args
        if name in ("rate", "increase"):
            (selector,) = args
            if not isinstance(selector, Selector) or selector.range is None:
                raise QueryError(f"{name}() needs a range selector")
            factor = 1 / selector.range if name == "rate" else 1.0
            series = self.captured.select(selector.without_range())
            return [
                Element(s.plain, s.value * factor if isinstance(s.value, float) else s.value.scaled(factor))
                for s in series
            ]
        if name == "vector":
            (scalar,) = args
            value = self.eval(scalar)
            if not isinstance(value, float):
                raise QueryError("vector() takes a scalar")
            return [Element({}, value)]
        if name == "histogram_quantile":
            q_node, vector_node = args
            q = self.eval(q_node)
            if not isinstance(q, float):
                raise QueryError("histogram_quantile() takes a scalar first")
            return self._histogram_quantile(q, self._vector_of(vector_node))
        # histogram_count, histogram_sum, histogram_avg: native histograms only, float samples are skipped.
        (vector_node,) = args
        pick = {
            "histogram_count": lambda h: h.count,
            "histogram_sum": lambda h: h.sum,
            "histogram_avg": lambda h: h.sum / h.count if h.count else math.nan,
        }[name]
        return [
            Element(_drop_name(e.labels), pick(e.value))
            for e in self._vector_of(vector_node)
            if isinstance(e.value, Native)
        ]

    def _vector_of(self, node: Node) -> Vector:
        value = self.eval(node)
        if not isinstance(value, list):
            raise QueryError("a scalar where a vector is needed")
        return value

    def _histogram_quantile(self, q: float, vector: Vector) -> Vector:
        classic: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        natives: dict[tuple[tuple[str, str], ...], Native] = {}
        for element in vector:
            labels = _drop_name(element.labels)
            if isinstance(element.value, Native):
                natives[tuple(sorted(labels.items()))] = element.value
            elif "le" in labels:  # a float sample without le is no bucket: Prometheus skips it
                le = labels.pop("le")
                bound = float(le.replace("+Inf", "inf"))
                classic.setdefault(tuple(sorted(labels.items())), []).append((bound, element.value))
        out = []
        for signature, buckets in classic.items():
            if signature not in natives:  # a group with both is dropped, as Prometheus does
                out.append(Element(dict(signature), bucket_quantile(q, buckets)))
        for signature, histogram in natives.items():
            if signature not in classic:
                out.append(Element(dict(signature), histogram.quantile(q)))
        return out

    def _aggregate(self, node: Aggregate) -> Vector:
        vector = self._vector_of(node.expr)
        groups: dict[tuple[tuple[str, str], ...], list[Value]] = {}
        for element in vector:
            if node.without:
                labels = {k: v for k, v in element.labels.items() if k not in node.grouping and k != NAME}
            else:
                labels = {k: element.labels[k] for k in node.grouping if k in element.labels}
            groups.setdefault(tuple(sorted(labels.items())), []).append(element.value)
        out = []
        for signature, values in groups.items():
            if node.op == "count":
                out.append(Element(dict(signature), float(len(values))))
                continue
            floats = [v for v in values if isinstance(v, float)]
            natives = [v for v in values if isinstance(v, Native)]
            if floats and natives:
                continue  # Prometheus drops a group that mixes floats and histograms
            if natives:
                if node.op != "sum":
                    raise QueryError(f"{node.op} over native histograms is not supported here")
                out.append(Element(dict(signature), Native.total(natives)))
                continue
            value = {"sum": sum, "min": min, "max": max, "avg": lambda v: sum(v) / len(v)}[node.op](floats)
            out.append(Element(dict(signature), float(value)))
        return out

    def _binary(self, node: Binary) -> float | Vector:
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        if node.op == "or":
            if not isinstance(lhs, list) or not isinstance(rhs, list):
                raise QueryError("`or` needs vectors on both sides")
            taken = {e.signature for e in lhs}
            return lhs + [e for e in rhs if e.signature not in taken]
        if node.op in ("and", "unless"):
            raise QueryError(f"`{node.op}` is not supported")
        if isinstance(lhs, float) and isinstance(rhs, float):
            return _arithmetic(node.op, lhs, rhs)
        if isinstance(lhs, list) and isinstance(rhs, float):
            return [e for e in (_with_scalar(node.op, x, rhs, scalar_first=False) for x in lhs) if e is not None]
        if isinstance(lhs, float) and isinstance(rhs, list):
            return [e for e in (_with_scalar(node.op, x, lhs, scalar_first=True) for x in rhs) if e is not None]
        assert isinstance(lhs, list) and isinstance(rhs, list)
        right: dict[tuple[tuple[str, str], ...], Element] = {}
        for element in rhs:
            if element.signature in right:
                raise QueryError(f"many-to-many matching: the right side has two series {element.signature}")
            right[element.signature] = element
        out, seen = [], set()
        for element in lhs:
            other = right.get(element.signature)
            if other is None or not _float(element) or not _float(other):
                continue  # no match; a float and a histogram are not added either (Prometheus: an annotation)
            if element.signature in seen:
                raise QueryError(f"many-to-many matching: the left side has two series {element.signature}")
            seen.add(element.signature)
            assert isinstance(element.value, float) and isinstance(other.value, float)
            out.append(Element(_drop_name(element.labels), _arithmetic(node.op, element.value, other.value)))
        return out


def _float(element: Element) -> bool:
    return isinstance(element.value, float)


def _with_scalar(op: str, element: Element, scalar: float, *, scalar_first: bool) -> Element | None:
    """One element of a vector-scalar operation: a histogram can only be multiplied, or divided by the scalar."""
    labels = _drop_name(element.labels)
    if isinstance(element.value, Native):
        if op == "*" or (op == "/" and not scalar_first):
            return Element(labels, element.value.scaled(scalar if op == "*" else 1 / scalar))
        return None  # Prometheus: an annotation, and no result
    a, b = (scalar, element.value) if scalar_first else (element.value, scalar)
    return Element(labels, _arithmetic(op, a, b))


# --- the names a __name__ regex can match -----------------------------------------------------------------------------

_SIMPLE = re.compile(r"[a-zA-Z0-9_:]")


@lru_cache(maxsize=1024)
def regex_language(pattern: str) -> frozenset[str] | None:
    """Every string a regex of literals, groups, ``|`` and ``?`` matches; None if it can match infinitely many."""

    def alternatives(pos: int) -> tuple[set[str], int]:
        options: set[str] = set()
        current = {""}
        while pos < len(pattern) and pattern[pos] != ")":
            char = pattern[pos]
            if char == "|":
                options |= current
                current, pos = {""}, pos + 1
                continue
            if char == "(":
                start = pos + 3 if pattern.startswith("?:", pos + 1) else pos + 1
                atom, pos = alternatives(start)
                if pos >= len(pattern):
                    raise ValueError(f"unbalanced parenthesis in {pattern!r}")
                pos += 1
            elif char == "\\" and pos + 1 < len(pattern) and not pattern[pos + 1].isalnum():
                atom, pos = {pattern[pos + 1]}, pos + 2
            elif _SIMPLE.match(char):
                atom, pos = {char}, pos + 1
            else:
                raise _Infinite()
            if pos < len(pattern) and pattern[pos] == "?":
                atom, pos = atom | {""}, pos + 1
            elif pos < len(pattern) and pattern[pos] in "*+{":
                raise _Infinite()
            current = {a + b for a in current for b in atom}
        return options | current, pos

    try:
        language, end = alternatives(0)
    except _Infinite:
        return None
    if end != len(pattern):
        raise ValueError(f"unbalanced parenthesis in {pattern!r}")
    return frozenset(language)


class _Infinite(Exception):
    pass


def selector_names(selector: Selector) -> frozenset[str] | None:
    """The metric names a selector can match, or None when its name matchers allow infinitely many."""
    names: frozenset[str] | None = None
    for matcher in selector.name_matchers:
        if matcher.op == "=":
            allowed: frozenset[str] | None = frozenset({matcher.value})
        elif matcher.op == "=~":
            allowed = regex_language(matcher.value)
        else:
            continue  # a negative matcher narrows, it never names
        if allowed is not None:
            names = allowed if names is None else names & allowed
    return names
