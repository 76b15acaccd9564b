package main

// A LogQL subset: what llama-telemetry's tests and Grafana's Loki datasource (its health check runs
// `vector(1)+vector(1)`) send. Loki's own grammar is pkg/logql/syntax (a goyacc parser); the stand-in
// accepts
//
//	log queries     {name="v", name!="v", name=~"re", name!~"re"} |= "text" != "text" |~ "re" !~ "re"
//	                | name="v" | name!="v" | name=~"re" | name!~"re"   (on stream labels and structured metadata)
//	metric queries  count_over_time(LOG[5m]) rate(...) bytes_over_time(...) bytes_rate(...)
//	                sum|avg|min|max|count [by|without (l, ...)] (METRIC) [by|without (...)]
//	                vector(N), numbers, + - * / and parentheses
//
// and answers anything else (parsers such as | json, line_format, unwrap, topk, ...) with a 400 parse error
// that names the stand-in, so a test that needs more fails plainly.

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// --- lexing ----------------------------------------------------------------------------------------

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokDuration
	tokOp // { } ( ) [ ] , = != =~ !~ |= |~ | + - * /
)

type token struct {
	kind tokenKind
	text string // the operator, identifier, number or duration; a string's unquoted value
	col  int    // 1-based column, for errors
}

func parseError(col int, format string, args ...interface{}) error {
	return fmt.Errorf("parse error at line 1, col %d: %s", col, fmt.Sprintf(format, args...))
}

func lex(query string) ([]token, error) {
	var tokens []token
	i := 0
	for i < len(query) {
		c := query[i]
		col := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // a comment runs to the end of the line
			for i < len(query) && query[i] != '\n' {
				i++
			}
		case c == '"' || c == '`':
			end := i + 1
			for end < len(query) && query[end] != c {
				if c == '"' && query[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(query) {
				return nil, parseError(col, "literal not terminated")
			}
			value, err := strconv.Unquote(query[i : end+1])
			if err != nil {
				return nil, parseError(col, "invalid string %s", query[i:end+1])
			}
			tokens = append(tokens, token{tokString, value, col})
			i = end + 1
		case c == '[':
			end := strings.IndexByte(query[i:], ']')
			if end < 0 {
				return nil, parseError(col, "syntax error: unexpected $end, expecting ]")
			}
			tokens = append(tokens, token{tokOp, "[", col}, token{tokDuration, strings.TrimSpace(query[i+1 : i+end]), col + 1}, token{tokOp, "]", col + end})
			i += end + 1
		case isIdentStart(c):
			end := i
			for end < len(query) && (isIdentStart(query[end]) || (query[end] >= '0' && query[end] <= '9')) {
				end++
			}
			tokens = append(tokens, token{tokIdent, query[i:end], col})
			i = end
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9'):
			end := i
			for end < len(query) && (query[end] >= '0' && query[end] <= '9' || query[end] == '.' || query[end] == 'e' || query[end] == 'E') {
				end++
			}
			tokens = append(tokens, token{tokNumber, query[i:end], col})
			i = end
		default:
			two := ""
			if i+1 < len(query) {
				two = query[i : i+2]
			}
			switch two {
			case "!=", "=~", "!~", "|=", "|~", "==":
				tokens = append(tokens, token{tokOp, two, col})
				i += 2
				continue
			}
			if strings.IndexByte("{}(),=|+-*/", c) < 0 {
				return nil, parseError(col, "syntax error: unexpected character %q", string(c))
			}
			tokens = append(tokens, token{tokOp, string(c), col})
			i++
		}
	}
	return append(tokens, token{tokEOF, "", len(query) + 1}), nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// --- the syntax tree -------------------------------------------------------------------------------

type matcher struct {
	name  string
	op    string // = != =~ !~
	value string
	re    *regexp.Regexp
}

func newMatcher(name, op, value string, col int) (matcher, error) {
	m := matcher{name: name, op: op, value: value}
	if op == "=~" || op == "!~" {
		re, err := regexp.Compile("^(?s:" + value + ")$") // Prometheus label matchers are anchored
		if err != nil {
			return m, parseError(col, "error parsing regexp: %v", err)
		}
		m.re = re
	}
	return m, nil
}

func (m matcher) matches(value string) bool {
	switch m.op {
	case "=":
		return value == m.value
	case "!=":
		return value != m.value
	case "=~":
		return m.re.MatchString(value)
	}
	return !m.re.MatchString(value)
}

type lineFilter struct {
	op   string // |= != |~ !~
	text string
	re   *regexp.Regexp
}

func (f lineFilter) keep(line string) bool {
	switch f.op {
	case "|=":
		return strings.Contains(line, f.text)
	case "!=":
		return !strings.Contains(line, f.text)
	case "|~":
		return f.re.MatchString(line)
	}
	return !f.re.MatchString(line)
}

// stage: a line filter or a label filter, in pipeline order.
type stage struct {
	line  *lineFilter
	label *matcher
}

type logExpr struct {
	matchers []matcher
	stages   []stage
}

type node interface{}

type numberNode struct{ value float64 }
type vectorNode struct{ value float64 }
type rangeNode struct {
	fn   string // count_over_time rate bytes_over_time bytes_rate
	log  *logExpr
	span time.Duration
}
type aggregateNode struct {
	op      string
	labels  []string
	without bool
	inner   node
}
type binaryNode struct {
	op          string
	left, right node
}

// --- parsing ---------------------------------------------------------------------------------------

type parser struct {
	tokens []token
	pos    int
}

func (p *parser) peek() token { return p.tokens[p.pos] }
func (p *parser) next() token {
	t := p.tokens[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "$end"
	case tokIdent:
		return "IDENTIFIER"
	case tokString:
		return "STRING"
	case tokNumber:
		return "NUMBER"
	case tokDuration:
		return "RANGE"
	}
	return t.text
}

func (p *parser) expect(op string) (token, error) {
	t := p.next()
	if t.kind != tokOp || t.text != op {
		return t, parseError(t.col, "syntax error: unexpected %s, expecting %s", describe(t), op)
	}
	return t, nil
}

// errAtLeastOneEqualityMatcher: pkg/logql/syntax/parser.go errAtleastOneEqualityMatcherRequired.
const errAtLeastOneEqualityMatcher = "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"

func parseLogQL(query string) (node, error) {
	if strings.TrimSpace(query) == "" {
		return nil, parseError(0, "syntax error: unexpected $end")
	}
	tokens, err := lex(query)
	if err != nil {
		return nil, err
	}
	p := &parser{tokens: tokens}
	n, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, parseError(t.col, "syntax error: unexpected %s", describe(t))
	}
	if _, isLog := n.(*logExpr); !isLog && containsLog(n) {
		return nil, parseError(0, "unexpected expression type: a log query inside a metric query")
	}
	return n, nil
}

func containsLog(n node) bool {
	switch v := n.(type) {
	case *logExpr:
		return true
	case *binaryNode:
		return containsLog(v.left) || containsLog(v.right)
	case *aggregateNode:
		return containsLog(v.inner)
	}
	return false
}

var precedence = map[string]int{"+": 1, "-": 1, "*": 2, "/": 2}

func (p *parser) expression(minimum int) (node, error) {
	left, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		level, isOp := precedence[t.text]
		if t.kind != tokOp || !isOp || level < minimum {
			return left, nil
		}
		p.next()
		right, err := p.expression(level + 1)
		if err != nil {
			return nil, err
		}
		left = &binaryNode{op: t.text, left: left, right: right}
	}
}

var aggregations = map[string]bool{"sum": true, "avg": true, "min": true, "max": true, "count": true}
var rangeFunctions = map[string]bool{"count_over_time": true, "rate": true, "bytes_over_time": true, "bytes_rate": true}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch {
	case t.kind == tokNumber:
		value, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, parseError(t.col, "syntax error: unexpected %s", t.text)
		}
		return &numberNode{value}, nil
	case t.kind == tokOp && t.text == "-":
		inner, err := p.primary()
		if err != nil {
			return nil, err
		}
		return &binaryNode{op: "*", left: &numberNode{-1}, right: inner}, nil
	case t.kind == tokOp && t.text == "(":
		inner, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		return inner, nil
	case t.kind == tokOp && t.text == "{":
		p.pos--
		return p.logExpression()
	case t.kind == tokIdent && t.text == "vector":
		if _, err := p.expect("("); err != nil {
			return nil, err
		}
		number := p.next()
		value, err := strconv.ParseFloat(number.text, 64)
		if number.kind != tokNumber || err != nil {
			return nil, parseError(number.col, "syntax error: unexpected %s, expecting NUMBER", describe(number))
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		return &vectorNode{value}, nil
	case t.kind == tokIdent && aggregations[t.text]:
		agg := &aggregateNode{op: t.text}
		if err := p.grouping(agg); err != nil {
			return nil, err
		}
		if _, err := p.expect("("); err != nil {
			return nil, err
		}
		inner, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		if _, isLog := inner.(*logExpr); isLog {
			return nil, parseError(t.col, "syntax error: unexpected log query inside %s", t.text)
		}
		agg.inner = inner
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		if err := p.grouping(agg); err != nil {
			return nil, err
		}
		return agg, nil
	case t.kind == tokIdent && rangeFunctions[t.text]:
		if _, err := p.expect("("); err != nil {
			return nil, err
		}
		log, err := p.logExpression()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("["); err != nil {
			return nil, err
		}
		spanToken := p.next()
		span, err := parseDuration(spanToken.text)
		if err != nil || span <= 0 {
			return nil, parseError(spanToken.col, "syntax error: invalid range %q", spanToken.text)
		}
		if _, err := p.expect("]"); err != nil {
			return nil, err
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		return &rangeNode{fn: t.text, log: log.(*logExpr), span: span}, nil
	case t.kind == tokIdent:
		return nil, parseError(t.col, "syntax error: unexpected IDENTIFIER %q (the Loki stand-in does not support it)", t.text)
	}
	return nil, parseError(t.col, "syntax error: unexpected %s", describe(t))
}

func (p *parser) grouping(agg *aggregateNode) error {
	t := p.peek()
	if t.kind != tokIdent || (t.text != "by" && t.text != "without") {
		return nil
	}
	p.next()
	agg.without = t.text == "without"
	if _, err := p.expect("("); err != nil {
		return err
	}
	agg.labels = []string{}
	for {
		name := p.next()
		if name.kind == tokOp && name.text == ")" {
			return nil
		}
		if name.kind != tokIdent {
			return parseError(name.col, "syntax error: unexpected %s, expecting IDENTIFIER", describe(name))
		}
		agg.labels = append(agg.labels, name.text)
		separator := p.next()
		if separator.kind == tokOp && separator.text == ")" {
			return nil
		}
		if separator.kind != tokOp || separator.text != "," {
			return parseError(separator.col, "syntax error: unexpected %s, expecting , or )", describe(separator))
		}
	}
}

var matcherOps = map[string]bool{"=": true, "!=": true, "=~": true, "!~": true}

func (p *parser) logExpression() (node, error) {
	if _, err := p.expect("{"); err != nil {
		return nil, err
	}
	expr := &logExpr{}
	for {
		name := p.next()
		if name.kind != tokIdent {
			return nil, parseError(name.col, "syntax error: unexpected %s, expecting IDENTIFIER", describe(name))
		}
		op := p.next()
		if op.kind != tokOp || !matcherOps[op.text] {
			return nil, parseError(op.col, "syntax error: unexpected %s, expecting = or != or =~ or !~", describe(op))
		}
		value := p.next()
		if value.kind != tokString {
			return nil, parseError(value.col, "syntax error: unexpected %s, expecting STRING", describe(value))
		}
		m, err := newMatcher(name.text, op.text, value.text, value.col)
		if err != nil {
			return nil, err
		}
		expr.matchers = append(expr.matchers, m)
		separator := p.next()
		if separator.kind == tokOp && separator.text == "}" {
			break
		}
		if separator.kind != tokOp || separator.text != "," {
			return nil, parseError(separator.col, "syntax error: unexpected %s, expecting , or }", describe(separator))
		}
	}
	nonEmpty := false
	for _, m := range expr.matchers {
		if !m.matches("") {
			nonEmpty = true
		}
	}
	if !nonEmpty {
		return nil, fmt.Errorf("%s", errAtLeastOneEqualityMatcher)
	}
	for {
		t := p.peek()
		if t.kind != tokOp {
			return expr, nil
		}
		switch t.text {
		case "|=", "!=", "|~", "!~":
			p.next()
			text := p.next()
			if text.kind != tokString {
				return nil, parseError(text.col, "syntax error: unexpected %s, expecting STRING", describe(text))
			}
			filter := &lineFilter{op: t.text, text: text.text}
			if t.text == "|~" || t.text == "!~" {
				re, err := regexp.Compile(text.text)
				if err != nil {
					return nil, parseError(text.col, "error parsing regexp: %v", err)
				}
				filter.re = re
			}
			expr.stages = append(expr.stages, stage{line: filter})
		case "|":
			p.next()
			name := p.next()
			if name.kind != tokIdent {
				return nil, parseError(name.col, "syntax error: unexpected %s", describe(name))
			}
			op := p.peek()
			if op.kind != tokOp || !matcherOps[op.text] {
				return nil, parseError(name.col, "syntax error: the Loki stand-in does not support the stage %q", name.text)
			}
			p.next()
			value := p.next()
			if value.kind != tokString {
				return nil, parseError(value.col, "syntax error: unexpected %s, expecting STRING (the Loki stand-in compares label filters with strings only)", describe(value))
			}
			m, err := newMatcher(name.text, op.text, value.text, value.col)
			if err != nil {
				return nil, err
			}
			expr.stages = append(expr.stages, stage{label: &m})
		default:
			return expr, nil
		}
	}
}

// --- evaluation ------------------------------------------------------------------------------------

// entryLabels: what a pipeline sees and a result shows for an entry: the stream's labels and its
// structured metadata; a metadata name that is also a stream label gets "_extracted"
// (pkg/logql/log/labels.go LabelsBuilder.Add). An empty value is no label, as in any Prometheus label set.
func entryLabels(stream []label, metadata []label) []label {
	out := append([]label{}, stream...)
	for _, m := range metadata {
		if m.value == "" {
			continue
		}
		name := m.name
		if _, clash := labelValue(stream, name); clash {
			name += "_extracted"
		}
		out = append(out, label{name, m.value})
	}
	return sortedLabels(out)
}

type selected struct {
	labels []label
	key    string
	ts     int64
	line   string
	sm     int // structured metadata bytes
}

// selectEntries: the entries of the tenant's matching streams in the time range (from exclusive or not,
// to inclusive or not) that pass the pipeline.
func selectEntries(streams []storedStream, expr *logExpr, from, to int64, fromInclusive, toInclusive bool) []selected {
	var out []selected
	for _, stream := range streams {
		matched := true
		for _, m := range expr.matchers {
			value, _ := labelValue(stream.labels, m.name)
			if !m.matches(value) {
				matched = false
				break
			}
		}
		if !matched {
			continue
		}
		for _, entry := range stream.entries {
			if entry.ts < from || (entry.ts == from && !fromInclusive) || entry.ts > to || (entry.ts == to && !toInclusive) {
				continue
			}
			all := entryLabels(stream.labels, entry.sm)
			keep := true
			for _, st := range expr.stages {
				if st.line != nil && !st.line.keep(entry.line) {
					keep = false
					break
				}
				if st.label != nil {
					value, _ := labelValue(all, st.label.name)
					if !st.label.matches(value) {
						keep = false
						break
					}
				}
			}
			if keep {
				size := 0
				for _, m := range entry.sm {
					size += len(m.name) + len(m.value)
				}
				out = append(out, selected{labels: all, key: labelsString(all), ts: entry.ts, line: entry.line, sm: size})
			}
		}
	}
	return out
}

type resultStream struct {
	labels  []label
	key     string
	entries []selected
}

// logResult: at most limit entries, the newest (backward) or oldest (forward) of the range [from, to),
// grouped into streams by their whole label set, streams sorted by labels, entries in the direction.
func logResult(streams []storedStream, expr *logExpr, from, to int64, limit int, forward bool) ([]resultStream, int) {
	entries := selectEntries(streams, expr, from, to, true, false)
	processed := len(entries)
	sort.SliceStable(entries, func(i, j int) bool {
		if forward {
			return entries[i].ts < entries[j].ts
		}
		return entries[i].ts > entries[j].ts
	})
	if len(entries) > limit {
		entries = entries[:limit]
	}
	byKey := map[string]*resultStream{}
	var keys []string
	for _, e := range entries {
		s := byKey[e.key]
		if s == nil {
			s = &resultStream{labels: e.labels, key: e.key}
			byKey[e.key] = s
			keys = append(keys, e.key)
		}
		s.entries = append(s.entries, e)
	}
	sort.Strings(keys)
	out := make([]resultStream, 0, len(keys))
	for _, key := range keys {
		out = append(out, *byKey[key])
	}
	return out, processed
}

type sample struct {
	labels []label
	value  float64
}

// value: a scalar or an instant vector.
type value struct {
	isScalar bool
	scalar   float64
	vector   []sample
}

func evaluate(n node, streams []storedStream, at int64) (value, error) {
	switch v := n.(type) {
	case *numberNode:
		return value{isScalar: true, scalar: v.value}, nil
	case *vectorNode:
		return value{vector: []sample{{labels: []label{}, value: v.value}}}, nil
	case *rangeNode:
		// (at - range, at]: pkg/logql/range_vector.go load (the lower bound is not inclusive).
		entries := selectEntries(streams, v.log, at-int64(v.span), at, false, true)
		groups := map[string]*sample{}
		var order []string
		for _, e := range entries {
			s := groups[e.key]
			if s == nil {
				s = &sample{labels: e.labels}
				groups[e.key] = s
				order = append(order, e.key)
			}
			if strings.HasPrefix(v.fn, "bytes") {
				s.value += float64(len(e.line))
			} else {
				s.value++
			}
		}
		out := value{}
		for _, key := range order {
			s := *groups[key]
			if v.fn == "rate" || v.fn == "bytes_rate" {
				s.value /= v.span.Seconds()
			}
			out.vector = append(out.vector, s)
		}
		return out, nil
	case *aggregateNode:
		inner, err := evaluate(v.inner, streams, at)
		if err != nil {
			return value{}, err
		}
		if inner.isScalar {
			return value{}, fmt.Errorf("parse error : %s expects a vector", v.op)
		}
		return value{vector: aggregate(v, inner.vector)}, nil
	case *binaryNode:
		left, err := evaluate(v.left, streams, at)
		if err != nil {
			return value{}, err
		}
		right, err := evaluate(v.right, streams, at)
		if err != nil {
			return value{}, err
		}
		return combine(v.op, left, right), nil
	}
	return value{}, fmt.Errorf("unexpected expression type %T", n)
}

func aggregate(agg *aggregateNode, input []sample) []sample {
	type group struct {
		labels []label
		values []float64
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range input {
		var kept []label
		for _, l := range s.labels {
			listed := false
			for _, name := range agg.labels {
				if l.name == name {
					listed = true
				}
			}
			if listed != agg.without && agg.labels != nil {
				kept = append(kept, l)
			}
		}
		if kept == nil {
			kept = []label{}
		}
		key := labelsString(kept)
		g := groups[key]
		if g == nil {
			g = &group{labels: kept}
			groups[key] = g
			order = append(order, key)
		}
		g.values = append(g.values, s.value)
	}
	var out []sample
	for _, key := range order {
		g := groups[key]
		result := 0.0
		switch agg.op {
		case "sum", "avg":
			for _, x := range g.values {
				result += x
			}
			if agg.op == "avg" {
				result /= float64(len(g.values))
			}
		case "count":
			result = float64(len(g.values))
		case "min", "max":
			result = g.values[0]
			for _, x := range g.values[1:] {
				if (agg.op == "min" && x < result) || (agg.op == "max" && x > result) {
					result = x
				}
			}
		}
		out = append(out, sample{labels: g.labels, value: result})
	}
	return out
}

func arithmetic(op string, a, b float64) float64 {
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	}
	return a / b
}

// combine: scalar with scalar, vector with scalar, and one-to-one vector matching on identical label sets.
func combine(op string, left, right value) value {
	switch {
	case left.isScalar && right.isScalar:
		return value{isScalar: true, scalar: arithmetic(op, left.scalar, right.scalar)}
	case right.isScalar:
		out := value{}
		for _, s := range left.vector {
			out.vector = append(out.vector, sample{s.labels, arithmetic(op, s.value, right.scalar)})
		}
		return out
	case left.isScalar:
		out := value{}
		for _, s := range right.vector {
			out.vector = append(out.vector, sample{s.labels, arithmetic(op, left.scalar, s.value)})
		}
		return out
	}
	byKey := map[string]float64{}
	for _, s := range right.vector {
		byKey[labelsString(s.labels)] = s.value
	}
	out := value{}
	for _, s := range left.vector {
		if other, ok := byKey[labelsString(s.labels)]; ok {
			out.vector = append(out.vector, sample{s.labels, arithmetic(op, s.value, other)})
		}
	}
	return out
}

// compareLabels: prometheus labels.Compare on sorted label sets.
func compareLabels(a, b []label) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].name != b[i].name {
			return strings.Compare(a[i].name, b[i].name)
		}
		if a[i].value != b[i].value {
			return strings.Compare(a[i].value, b[i].value)
		}
	}
	return len(a) - len(b)
}

// formatSampleValue: prometheus model.SampleValue.String.
func formatSampleValue(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// formatTime: prometheus model.Time.String, seconds with millisecond precision.
func formatTime(ns int64) string {
	ms := ns / int64(time.Millisecond)
	return strconv.FormatFloat(float64(ms)/1e3, 'f', -1, 64)
}
