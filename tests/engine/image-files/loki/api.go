package main

// The HTTP API: the routes of pkg/loki/loki.go and pkg/loki/modules.go that the stand-in serves, with
// Loki's status codes, content types and JSON shapes (pkg/util/marshal).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const defaultReadyDelay = 3 * time.Second

type api struct {
	cfg        *settings
	logger     *logger
	db         *store
	started    time.Time
	readyDelay time.Duration
	ready      atomic.Bool
}

func newAPI(cfg *settings, logger *logger, started time.Time) *api {
	// Loki's ingester turns ready min_ready_duration (15 s) after it has joined its ring; the stand-in
	// waits STAND_IN_READY_DELAY seconds (default 3) so tests still see the 503 phase, but briefly.
	delay := defaultReadyDelay
	if text := os.Getenv("STAND_IN_READY_DELAY"); text != "" {
		if seconds, err := strconv.ParseFloat(text, 64); err == nil && seconds >= 0 {
			delay = time.Duration(seconds * float64(time.Second))
		}
	}
	return &api{cfg: cfg, logger: logger, db: newStore(), started: started, readyDelay: delay}
}

// textError: net/http's http.Error, which Loki's handlers use for plain-text errors.
func textError(w http.ResponseWriter, message string, code int) {
	http.Error(w, message, code)
}

// queryError: pkg/util/server/error.go WriteError (plain text, no trailing newline).
func queryError(w http.ResponseWriter, err error, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprint(w, err.Error())
}

type route struct {
	methods []string
	auth    bool
	handler func(w http.ResponseWriter, r *http.Request, tenant string)
}

func (a *api) routes(path string) (route, bool) {
	query := []string{"GET", "POST"}
	switch path {
	case "/ready":
		return route{methods: []string{"GET"}, handler: a.handleReady}, true
	case "/loki/api/v1/status/buildinfo":
		return route{methods: []string{"GET"}, handler: a.handleBuildInfo}, true
	case "/metrics":
		return route{methods: []string{"GET"}, handler: a.handleMetrics}, true
	case "/otlp/v1/logs": // the only OTLP path Loki 3.7 registers (no /v1/logs)
		return route{methods: []string{"POST"}, auth: true, handler: a.handleOTLP}, true
	case "/loki/api/v1/query_range":
		return route{methods: query, auth: true, handler: a.handleQueryRange}, true
	case "/loki/api/v1/query":
		return route{methods: query, auth: true, handler: a.handleQuery}, true
	case "/loki/api/v1/labels", "/loki/api/v1/label":
		return route{methods: query, auth: true, handler: a.handleLabels}, true
	case "/loki/api/v1/series":
		return route{methods: query, auth: true, handler: a.handleSeries}, true
	}
	if name, ok := labelValuesPath(path); ok && name != "" {
		return route{methods: query, auth: true, handler: func(w http.ResponseWriter, r *http.Request, tenant string) {
			a.handleLabelValues(w, r, tenant, name)
		}}, true
	}
	return route{}, false
}

func labelValuesPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/loki/api/v1/label/")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "/values")
	if !ok || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, found := a.routes(r.URL.Path)
	if !found {
		http.NotFound(w, r) // gorilla/mux: "404 page not found"
		return
	}
	allowed := false
	for _, m := range rt.methods {
		if r.Method == m {
			allowed = true
		}
	}
	if !allowed {
		w.WriteHeader(http.StatusMethodNotAllowed) // gorilla/mux's method mismatch: 405, no body
		return
	}
	tenant := "fake" // pkg/util/fakeauth: without auth every request is tenant "fake"
	if rt.auth && a.cfg.authEnabled {
		// dskit middleware.AuthenticateUser: no X-Scope-OrgID is 401 "no org id".
		tenant = r.Header.Get("X-Scope-OrgID")
		if tenant == "" {
			textError(w, "no org id", http.StatusUnauthorized)
			return
		}
	}
	rt.handler(w, r, tenant)
}

// handleReady: pkg/loki/loki.go readyHandler, "Ingester not ready: " + the ring lifecycler's
// CheckReady error (dskit ring/lifecycler.go: "waiting for %v after being ready" names
// min_ready_duration), then "ready". Once ready it stays ready, as the lifecycler latches.
func (a *api) handleReady(w http.ResponseWriter, _ *http.Request, _ string) {
	if !a.ready.Load() {
		if time.Since(a.started) < a.readyDelay {
			textError(w, fmt.Sprintf("Ingester not ready: waiting for %v after being ready", a.cfg.minReadyDuration), http.StatusServiceUnavailable)
			return
		}
		a.ready.Store(true)
	}
	textError(w, "ready", http.StatusOK)
}

// handleBuildInfo: pkg/loki/loki.go versionHandler (prometheus/common version fields).
func (a *api) handleBuildInfo(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, "application/json", map[string]string{
		"version": version, "revision": "stand-in", "branch": "stand-in",
		"buildUser": "llama-telemetry-tests", "buildDate": "", "goVersion": runtime.Version(),
	})
}

func (a *api) handleMetrics(w http.ResponseWriter, _ *http.Request, _ string) {
	lines, bytesReceived := a.db.counters()
	var b strings.Builder
	b.WriteString("# HELP loki_build_info A metric with a constant '1' value labeled by version, revision, branch, goversion from which loki was built, and the goos and goarch for the build.\n# TYPE loki_build_info gauge\n")
	fmt.Fprintf(&b, "loki_build_info{branch=\"stand-in\",goarch=%q,goos=%q,goversion=%q,revision=\"stand-in\",tags=\"netgo\",version=%q} 1\n", runtime.GOARCH, runtime.GOOS, runtime.Version(), version)
	for _, counter := range []struct {
		name, help string
		values     map[string]int64
	}{
		{"loki_distributor_lines_received_total", "The total number of lines received per tenant", lines},
		{"loki_distributor_bytes_received_total", "The total number of uncompressed bytes received per tenant. Includes structured metadata bytes.", bytesReceived},
	} {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", counter.name, counter.help, counter.name)
		tenants := make([]string, 0, len(counter.values))
		for tenant := range counter.values {
			tenants = append(tenants, tenant)
		}
		sort.Strings(tenants)
		for _, tenant := range tenants {
			fmt.Fprintf(&b, "%s{tenant=%q} %d\n", counter.name, tenant, counter.values[tenant])
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// otlpError: pkg/loghttp/push/push.go OTLPError: the status code, and a google.rpc.Status protobuf whose
// only field is the message (field 2); 500 becomes 503 so that clients retry.
func otlpError(w http.ResponseWriter, message string, code int) {
	if code == http.StatusInternalServerError {
		code = http.StatusServiceUnavailable
	}
	body := []byte{0x12}
	body = appendVarint(body, uint64(len(message)))
	body = append(body, message...)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// handleOTLP: pkg/distributor/http.go OTLPPushHandler with pkg/loghttp/push/otlp.go ParseOTLPRequest:
// 204 when stored; 400 for a body, content type or entry Loki refuses; 422 for a request without logs.
func (a *api) handleOTLP(w http.ResponseWriter, r *http.Request, tenant string) {
	body, err := readBody(r.Body, r.Header.Get("Content-Encoding"))
	if err != nil {
		otlpError(w, err.Error(), http.StatusBadRequest)
		return
	}
	var request []resourceLogs
	// extractLogs compares the Content-Type header exactly: "application/json; charset=utf-8" is refused.
	switch contentType := r.Header.Get("Content-Type"); contentType {
	case "application/x-protobuf":
		request, err = decodeProtoRequest(body)
	case "application/json":
		request, err = decodeJSONRequest(body)
	default:
		err = fmt.Errorf("content type: %s is not supported", contentType)
	}
	if err != nil {
		otlpError(w, err.Error(), http.StatusBadRequest)
		return
	}
	streams, _, err := convertOTLP(request, a.cfg)
	if err != nil {
		otlpError(w, err.Error(), http.StatusBadRequest)
		return
	}
	hasEntries := false
	for _, key := range streams.order {
		if len(streams.byKey[key].entries) > 0 {
			hasEntries = true
		}
	}
	if !hasEntries {
		// PushWithResolver: no stream at all is 422 (validation.MissingStreamsErrorMsg).
		otlpError(w, "error at least one valid stream is required for ingestion", http.StatusUnprocessableEntity)
		return
	}
	if problems := distribute(tenant, streams, a.cfg, a.db, time.Now()); problems != "" {
		otlpError(w, problems, http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- query parameters (pkg/loghttp/params.go) --------------------------------------------------------

// parseTimestamp: nanoseconds, seconds (10 digits or fewer), float seconds or RFC 3339.
func parseTimestamp(value string, fallback time.Time) (time.Time, error) {
	if value == "" {
		return fallback, nil
	}
	if strings.Contains(value, ".") {
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			seconds, fraction := math.Modf(f)
			fraction = math.Round(fraction*1000) / 1000
			return time.Unix(int64(seconds), int64(fraction*float64(time.Second))), nil
		}
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		if t, terr := time.Parse(time.RFC3339Nano, value); terr == nil {
			return t, nil
		}
		return time.Time{}, err
	}
	if len(value) <= 10 {
		return time.Unix(n, 0), nil
	}
	return time.Unix(0, n), nil
}

// bounds: start and end, by default the hour before end (or now).
func bounds(r *http.Request) (time.Time, time.Time, error) {
	now := time.Now()
	since := time.Hour
	if text := r.Form.Get("since"); text != "" {
		d, err := parseDuration(text)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("could not parse 'since' parameter: %w", err)
		}
		since = d
	}
	end, err := parseTimestamp(r.Form.Get("end"), now)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("could not parse 'end' parameter: %w", err)
	}
	endOrNow := end
	if end.After(now) {
		endOrNow = now
	}
	start, err := parseTimestamp(r.Form.Get("start"), endOrNow.Add(-since))
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("could not parse 'start' parameter: %w", err)
	}
	return start, end, nil
}

func queryLimit(r *http.Request) (int, error) {
	text := r.Form.Get("limit")
	if text == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, errors.New("limit must be a positive value")
	}
	return n, nil
}

func queryDirection(r *http.Request) (bool, error) {
	switch strings.ToUpper(r.Form.Get("direction")) {
	case "", "BACKWARD":
		return false, nil
	case "FORWARD":
		return true, nil
	}
	return false, fmt.Errorf("invalid direction '%s'", r.Form.Get("direction"))
}

func parseSecondsOrDuration(value string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(value, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	if d, err := parseDuration(value); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", value)
}

// --- query handlers --------------------------------------------------------------------------------

type queryStats struct {
	started   time.Time
	processed int
	bytes     int
	metadata  int
	returned  int
}

func (a *api) handleQueryRange(w http.ResponseWriter, r *http.Request, tenant string) {
	_ = r.ParseForm()
	stats := queryStats{started: time.Now()}
	start, end, err := bounds(r)
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	if end.Before(start) {
		queryError(w, errors.New("end timestamp must not be before or equal to start time"), http.StatusBadRequest)
		return
	}
	limit, err := queryLimit(r)
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	forward, err := queryDirection(r)
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	step := time.Duration(math.Max(math.Floor(end.Sub(start).Seconds()/250), 1)) * time.Second
	if text := r.Form.Get("step"); text != "" {
		if step, err = parseSecondsOrDuration(text); err != nil {
			queryError(w, err, http.StatusBadRequest)
			return
		}
	}
	if step <= 0 {
		queryError(w, errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), http.StatusBadRequest)
		return
	}
	if end.Sub(start)/step > 11000 {
		queryError(w, errors.New("exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"), http.StatusBadRequest)
		return
	}
	expr, err := parseLogQL(r.Form.Get("query"))
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	streams := a.db.snapshot(tenant)
	if log, isLog := expr.(*logExpr); isLog {
		if limit > a.cfg.limits.maxEntriesLimitPerQuery {
			queryError(w, fmt.Errorf("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, a.cfg.limits.maxEntriesLimitPerQuery), http.StatusBadRequest)
			return
		}
		result, processed := logResult(streams, log, start.UnixNano(), end.UnixNano(), limit, forward)
		stats.processed = processed
		writeQueryResponse(w, "streams", encodeStreams(result, &stats), &stats)
		return
	}
	// A metric query over a range: the expression at every step from start to end.
	series := map[string]*struct {
		labels []label
		points [][2]string
	}{}
	for t := start.UnixNano(); t <= end.UnixNano(); t += int64(step) {
		v, err := evaluate(expr, streams, t)
		if err != nil {
			queryError(w, err, http.StatusBadRequest)
			return
		}
		if v.isScalar {
			v.vector = []sample{{labels: []label{}, value: v.scalar}}
		}
		for _, s := range v.vector {
			key := labelsString(s.labels)
			if series[key] == nil {
				series[key] = &struct {
					labels []label
					points [][2]string
				}{labels: s.labels}
			}
			series[key].points = append(series[key].points, [2]string{formatTime(t), formatSampleValue(s.value)})
		}
	}
	keys := make([]string, 0, len(series))
	for key := range series {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool { return compareLabels(series[keys[i]].labels, series[keys[j]].labels) < 0 })
	var b bytes.Buffer
	b.WriteByte('[')
	for i, key := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"metric":`)
		writeLabelObject(&b, series[key].labels)
		b.WriteString(`,"values":[`)
		for j, p := range series[key].points {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `[%s,"%s"]`, p[0], p[1])
		}
		b.WriteString("]}")
	}
	b.WriteByte(']')
	writeQueryResponse(w, "matrix", b.Bytes(), &stats)
}

func (a *api) handleQuery(w http.ResponseWriter, r *http.Request, tenant string) {
	_ = r.ParseForm()
	stats := queryStats{started: time.Now()}
	at, err := parseTimestamp(r.Form.Get("time"), time.Now())
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	if _, err := queryLimit(r); err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	if _, err := queryDirection(r); err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	expr, err := parseLogQL(r.Form.Get("query"))
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	// pkg/querier/http.go InstantQueryHandler: a log selector is not an instant query.
	if _, isLog := expr.(*logExpr); isLog {
		queryError(w, errors.New("log queries are not supported as an instant query type, please change your query to a range query type"), http.StatusBadRequest)
		return
	}
	v, err := evaluate(expr, a.db.snapshot(tenant), at.UnixNano())
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	var b bytes.Buffer
	if v.isScalar {
		fmt.Fprintf(&b, `[%s,"%s"]`, formatTime(at.UnixNano()), formatSampleValue(v.scalar))
		writeQueryResponse(w, "scalar", b.Bytes(), &stats)
		return
	}
	sort.SliceStable(v.vector, func(i, j int) bool { return compareLabels(v.vector[i].labels, v.vector[j].labels) < 0 })
	b.WriteByte('[')
	for i, s := range v.vector {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"metric":`)
		writeLabelObject(&b, s.labels)
		fmt.Fprintf(&b, `,"value":[%s,"%s"]}`, formatTime(at.UnixNano()), formatSampleValue(s.value))
	}
	b.WriteByte(']')
	writeQueryResponse(w, "vector", b.Bytes(), &stats)
}

// streamsInRange: the tenant's streams with an entry in [start, end] that the selector (if any) matches.
func (a *api) streamsInRange(r *http.Request, tenant string, selectors []string) ([]storedStream, error) {
	start, end, err := bounds(r)
	if err != nil {
		return nil, err
	}
	var exprs []*logExpr
	for _, selector := range selectors {
		if selector == "" {
			continue
		}
		n, err := parseLogQL(selector)
		if err != nil {
			return nil, err
		}
		log, ok := n.(*logExpr)
		if !ok {
			return nil, errors.New("only label matchers are supported")
		}
		exprs = append(exprs, log)
	}
	var out []storedStream
	for _, stream := range a.db.snapshot(tenant) {
		inRange := false
		for _, e := range stream.entries {
			if e.ts >= start.UnixNano() && e.ts <= end.UnixNano() {
				inRange = true
				break
			}
		}
		if !inRange {
			continue
		}
		matched := len(exprs) == 0
		for _, expr := range exprs {
			all := true
			for _, m := range expr.matchers {
				value, _ := labelValue(stream.labels, m.name)
				if !m.matches(value) {
					all = false
				}
			}
			matched = matched || all
		}
		if matched {
			out = append(out, stream)
		}
	}
	return out, nil
}

// writeLabelResponse: pkg/util/marshal WriteLabelResponseJSON; "data" is left out when empty.
func writeLabelResponse(w http.ResponseWriter, values map[string]bool) {
	list := make([]string, 0, len(values))
	for v := range values {
		list = append(list, v)
	}
	sort.Strings(list)
	var b bytes.Buffer
	b.WriteString(`{"status":"success"`)
	if len(list) > 0 {
		b.WriteString(`,"data":[`)
		for i, v := range list {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, v, false)
		}
		b.WriteByte(']')
	}
	b.WriteString("}\n")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b.Bytes())
}

// handleLabels: the stream (index) label names; structured metadata is not indexed, so not listed.
func (a *api) handleLabels(w http.ResponseWriter, r *http.Request, tenant string) {
	_ = r.ParseForm()
	streams, err := a.streamsInRange(r, tenant, []string{r.Form.Get("query")})
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	names := map[string]bool{}
	for _, s := range streams {
		for _, l := range s.labels {
			names[l.name] = true
		}
	}
	writeLabelResponse(w, names)
}

func (a *api) handleLabelValues(w http.ResponseWriter, r *http.Request, tenant, name string) {
	_ = r.ParseForm()
	streams, err := a.streamsInRange(r, tenant, []string{r.Form.Get("query")})
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	values := map[string]bool{}
	for _, s := range streams {
		if value, ok := labelValue(s.labels, name); ok {
			values[value] = true
		}
	}
	writeLabelResponse(w, values)
}

// handleSeries: pkg/util/marshal WriteSeriesResponseJSON, one object of stream labels per stream.
func (a *api) handleSeries(w http.ResponseWriter, r *http.Request, tenant string) {
	_ = r.ParseForm()
	streams, err := a.streamsInRange(r, tenant, r.Form["match[]"])
	if err != nil {
		queryError(w, err, http.StatusBadRequest)
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":[`)
	for i, s := range streams {
		if i > 0 {
			b.WriteByte(',')
		}
		writeLabelObject(&b, s.labels)
	}
	b.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b.Bytes())
}

// --- JSON ------------------------------------------------------------------------------------------

func writeJSON(w http.ResponseWriter, code int, contentType string, value interface{}) {
	body, _ := json.Marshal(value)
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

// writeJSONString: a JSON string; html escapes <, > and & as jsoniter's WriteStringWithHTMLEscaped
// does for log lines (labels are written without it).
func writeJSONString(b *bytes.Buffer, s string, html bool) {
	if html {
		encoded, _ := json.Marshal(s)
		b.Write(encoded)
		return
	}
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	_ = encoder.Encode(s)
	b.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

func writeLabelObject(b *bytes.Buffer, labels []label) {
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, l.name, false)
		b.WriteByte(':')
		writeJSONString(b, l.value, false)
	}
	b.WriteByte('}')
}

// encodeStreams: pkg/util/marshal/query.go encodeStream without the categorize-labels flag: structured
// metadata is part of each stream's labels, values are ["<unix ns>", "<line>"].
func encodeStreams(streams []resultStream, stats *queryStats) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range streams {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"stream":`)
		writeLabelObject(&b, s.labels)
		b.WriteString(`,"values":[`)
		for j, e := range s.entries {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `["%d",`, e.ts)
			writeJSONString(&b, e.line, true)
			b.WriteByte(']')
			stats.returned++
			stats.bytes += len(e.line)
			stats.metadata += e.sm
		}
		b.WriteString("]}")
	}
	b.WriteByte(']')
	return b.Bytes()
}

// writeQueryResponse: pkg/util/marshal/query.go EncodeResult, {"status":"success","data":{"resultType",
// "result","stats"}}. Of the statistics the stand-in fills the summary only (Loki adds querier, ingester,
// cache and index sections).
func writeQueryResponse(w http.ResponseWriter, resultType string, result []byte, stats *queryStats) {
	if stats.processed < stats.returned {
		stats.processed = stats.returned
	}
	execTime := time.Since(stats.started).Seconds()
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"status":"success","data":{"resultType":"%s","result":`, resultType)
	b.Write(result)
	fmt.Fprintf(&b, `,"stats":{"summary":{"bytesProcessedPerSecond":%d,"linesProcessedPerSecond":%d,"totalBytesProcessed":%d,"totalLinesProcessed":%d,"execTime":%s,"queueTime":0,"subqueries":0,"totalEntriesReturned":%d,"splits":0,"shards":0,"totalPostFilterLines":%d,"totalStructuredMetadataBytesProcessed":%d}}}}`,
		perSecond(stats.bytes, execTime), perSecond(stats.processed, execTime), stats.bytes, stats.processed,
		strconv.FormatFloat(execTime, 'f', -1, 64), stats.returned, stats.returned, stats.metadata)
	b.WriteByte('\n')
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b.Bytes())
}

func perSecond(n int, seconds float64) int64 {
	if seconds <= 0 {
		return 0
	}
	return int64(float64(n) / seconds)
}
