package main

// OTLP logs to Loki streams, as pkg/loghttp/push/otlp.go (otlpToLokiPushRequest, otlpLogToPushEntry,
// attributeToLabels) converts them, then the distributor's validation and level detection
// (pkg/distributor/distributor.go PushWithResolver, validator.go ValidateEntry, field_detection.go).

import (
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"local/llama-telemetry-test/loki-stand-in/loki"
)

type label struct {
	name  string
	value string
}

// labelsString: a label set as prometheus/common model.LabelSet.String writes it (sorted, Go-quoted).
func labelsString(labels []label) string {
	sorted := sortedLabels(labels)
	parts := make([]string, 0, len(sorted))
	for _, l := range sorted {
		parts = append(parts, l.name+"="+strconv.Quote(l.value))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func sortedLabels(labels []label) []label {
	out := append([]label{}, labels...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func labelValue(labels []label, name string) (string, bool) {
	for _, l := range labels {
		if l.name == name {
			return l.value, true
		}
	}
	return "", false
}

// buildLabelName: github.com/prometheus/otlptranslator LabelNamer{}.Build (UTF8Allowed false), which
// Loki uses for attribute and structured-metadata names: every character outside [a-zA-Z0-9] becomes
// "_" (runs of them one "_"), "__x__" keeps its underscores, a leading digit gets "key_".
func buildLabelName(name string) (string, error) {
	if name == "" {
		return "", errors.New("label name is empty")
	}
	inner, reserved := name, false
	if len(name) >= 4 && strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__") {
		inner, reserved = name[2:len(name)-2], true
	}
	var b strings.Builder
	previousUnderscore := false
	for _, r := range inner {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			previousUnderscore = false
		} else if !previousUnderscore {
			b.WriteByte('_')
			previousUnderscore = true
		}
	}
	normalized := b.String()
	if reserved {
		normalized = "__" + normalized + "__"
	}
	if normalized != "" && unicode.IsDigit(rune(normalized[0])) {
		normalized = "key_" + normalized
	}
	if strings.Trim(normalized, "_") == "" {
		return "", fmt.Errorf("normalization for label name %q resulted in invalid name %q", name, normalized)
	}
	return normalized, nil
}

// attributeToLabels: a map attribute becomes one label per leaf, named parent_child.
func attributeToLabels(key string, value anyValue, prefix string) ([]label, error) {
	if prefix != "" {
		key = prefix + "_" + key
	}
	name, err := buildLabelName(key)
	if err != nil {
		return nil, fmt.Errorf("symbolizer lookup: %w", err)
	}
	if value.kind != kindMap {
		return []label{{name, value.asString()}}, nil
	}
	var out []label
	for _, kv := range value.kvlist {
		inner, err := attributeToLabels(kv.key, kv.value, name)
		if err != nil {
			return nil, fmt.Errorf("symbolizer lookup: %w", err)
		}
		out = append(out, inner...)
	}
	return out, nil
}

// --- per-tenant OTLP configuration (pkg/loghttp/push/otlp_config.go) --------------------------------

const (
	actionIndexLabel         = "index_label"
	actionStructuredMetadata = "structured_metadata"
	actionDrop               = "drop"
)

type attributeRule struct {
	action     string
	attributes []string
	regex      *regexp.Regexp
}

type otlpConfig struct {
	resource            []attributeRule
	scope               []attributeRule
	log                 []attributeRule
	severityTextAsLabel bool
}

func actionFor(rules []attributeRule, attribute string) string {
	for _, rule := range rules {
		if rule.regex != nil && rule.regex.MatchString(attribute) {
			return rule.action
		}
		for _, name := range rule.attributes {
			if name == attribute {
				return rule.action
			}
		}
	}
	return actionStructuredMetadata
}

func (c otlpConfig) validate() error {
	for _, rule := range c.scope {
		if rule.action == actionIndexLabel {
			return fmt.Errorf("%s action is only supported for resource_attributes", actionIndexLabel)
		}
	}
	return nil
}

func parseRules(r *reader, value interface{}) ([]attributeRule, error) {
	items, ok := value.([]interface{})
	if !ok {
		if value != nil {
			r.mismatch(value, "[]push.AttributesConfig")
		}
		return nil, nil
	}
	var rules []attributeRule
	for _, item := range items {
		section := toSection(item)
		rule := attributeRule{
			action:     r.str(section, actionStructuredMetadata, "action"),
			attributes: r.strings(section, nil, "attributes"),
		}
		if rule.action != actionIndexLabel && rule.action != actionStructuredMetadata && rule.action != actionDrop {
			return nil, errors.New("unsupported action, it must be one of: drop, index_label, structured_metadata")
		}
		if pattern := r.str(section, "", "regex"); pattern != "" {
			re, err := regexp.Compile("^(?s:" + pattern + ")$") // prometheus relabel.Regexp is anchored
			if err != nil {
				return nil, err
			}
			rule.regex = re
		}
		if len(rule.attributes) == 0 && rule.regex == nil {
			return nil, errors.New("attributes or regex must be set")
		}
		if len(rule.attributes) > 0 && rule.regex != nil {
			return nil, errors.New("only one of attributes or regex must be set")
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

func parseOTLPConfig(r *reader, w *loki.ConfigWrapper) (otlpConfig, error) {
	var c otlpConfig
	defaults := r.strings(w.Distributor, defaultIndexedResourceAttributes, "otlp_config", "default_resource_attributes_as_index_labels")
	configured, _ := lookup(w.LimitsConfig, "otlp_config", "resource_attributes", "attributes_config")
	resource, err := parseRules(r, configured)
	if err != nil {
		return c, err
	}
	// OTLPConfig.ApplyGlobalOTLPConfig: the defaults come first unless ignore_defaults.
	if !r.boolean(w.LimitsConfig, false, "otlp_config", "resource_attributes", "ignore_defaults") && len(defaults) > 0 {
		resource = append([]attributeRule{{action: actionIndexLabel, attributes: defaults}}, resource...)
	}
	c.resource = resource
	scope, _ := lookup(w.LimitsConfig, "otlp_config", "scope_attributes")
	if c.scope, err = parseRules(r, scope); err != nil {
		return c, err
	}
	logAttributes, _ := lookup(w.LimitsConfig, "otlp_config", "log_attributes")
	if c.log, err = parseRules(r, logAttributes); err != nil {
		return c, err
	}
	c.severityTextAsLabel = r.boolean(w.LimitsConfig, false, "otlp_config", "severity_text_as_label")
	return c, nil
}

// --- the conversion --------------------------------------------------------------------------------

type pushEntry struct {
	ts   int64
	line string
	sm   []label
}

type pushStream struct {
	labels  []label
	entries []pushEntry
}

// orderedStreams keeps streams in the order a request first names them.
type orderedStreams struct {
	order []string
	byKey map[string]*pushStream
}

func (o *orderedStreams) get(labels []label) *pushStream {
	key := labelsString(labels)
	if stream, ok := o.byKey[key]; ok {
		return stream
	}
	stream := &pushStream{labels: sortedLabels(labels)}
	o.byKey[key] = stream
	o.order = append(o.order, key)
	return stream
}

func validLabelSet(labels []label) bool {
	for _, l := range labels {
		if l.name == "" || !utf8.ValidString(l.name) || !utf8.ValidString(l.value) {
			return false
		}
	}
	return true
}

func convertOTLP(request []resourceLogs, cfg *settings) (*orderedStreams, int, error) {
	streams := &orderedStreams{byKey: map[string]*pushStream{}}
	records := 0
	for _, rl := range request {
		for _, sl := range rl.scopes {
			records += len(sl.records)
		}
	}
	if records == 0 {
		return streams, 0, nil
	}
	discover := cfg.limits.discoverServiceName
	for _, rl := range request {
		var resourceMetadata []label
		streamLabels := map[string]string{}
		hasServiceName := false
		for _, kv := range rl.attributes {
			if kv.key == "service.name" && kv.value.asString() != "" {
				hasServiceName = true
			}
		}
		for _, kv := range rl.attributes {
			action := actionFor(cfg.otlp.resource, kv.key)
			if action == actionDrop {
				continue
			}
			converted, err := attributeToLabels(kv.key, kv.value, "")
			if err != nil {
				return nil, records, err
			}
			if action == actionIndexLabel {
				for _, l := range converted {
					streamLabels[l.name] = l.value
					if !hasServiceName && len(discover) > 0 && contains(discover, l.name) {
						streamLabels["service_name"] = l.value
						hasServiceName = true
					}
				}
			} else {
				resourceMetadata = append(resourceMetadata, converted...)
			}
		}
		if !hasServiceName && len(discover) > 0 {
			streamLabels["service_name"] = "unknown_service"
		}
		base := make([]label, 0, len(streamLabels))
		for name, value := range streamLabels {
			base = append(base, label{name, value})
		}
		if !validLabelSet(base) {
			continue // model.LabelSet.Validate: the resource's logs are left out
		}
		if len(base) > 0 {
			streams.get(base)
		}

		for _, sl := range rl.scopes {
			var scopeMetadata []label
			for _, kv := range sl.attributes {
				action := actionFor(cfg.otlp.scope, kv.key)
				if action == actionDrop {
					continue
				}
				converted, err := attributeToLabels(kv.key, kv.value, "")
				if err != nil {
					return nil, records, err
				}
				if action == actionStructuredMetadata {
					scopeMetadata = append(scopeMetadata, converted...)
				}
			}
			if sl.name != "" {
				scopeMetadata = append(scopeMetadata, label{"scope_name", sl.name})
			}
			if sl.version != "" {
				scopeMetadata = append(scopeMetadata, label{"scope_version", sl.version})
			}
			if sl.droppedAttributes != 0 {
				scopeMetadata = append(scopeMetadata, label{"scope_dropped_attributes_count", strconv.FormatUint(uint64(sl.droppedAttributes), 10)})
			}

			for _, record := range sl.records {
				recordLabels, entry, err := convertRecord(record, cfg.otlp)
				if err != nil {
					return nil, records, err
				}
				target := base
				if len(recordLabels) > 0 {
					combined := map[string]string{}
					for _, l := range base {
						combined[l.name] = l.value
					}
					for _, l := range recordLabels {
						combined[l.name] = l.value
					}
					target = target[:0:0]
					for name, value := range combined {
						target = append(target, label{name, value})
					}
					if !validLabelSet(target) {
						continue
					}
				}
				entry.sm = append(entry.sm, resourceMetadata...)
				entry.sm = append(entry.sm, scopeMetadata...)
				stream := streams.get(target)
				stream.entries = append(stream.entries, entry)
			}
		}
	}
	return streams, records, nil
}

// convertRecord: otlpLogToPushEntry.
func convertRecord(record logRecord, c otlpConfig) ([]label, pushEntry, error) {
	var metadata, indexed []label
	for _, kv := range record.attributes {
		action := actionFor(c.log, kv.key)
		if action == actionDrop {
			continue
		}
		converted, err := attributeToLabels(kv.key, kv.value, "")
		if err != nil {
			return nil, pushEntry{}, err
		}
		if action == actionStructuredMetadata {
			metadata = append(metadata, converted...)
		} else {
			indexed = append(indexed, converted...)
		}
	}
	// The observed time only when the record has its own time (otherwise it already is the entry's time).
	if record.timeUnixNano != 0 && record.observedTimeUnixNano != 0 {
		metadata = append(metadata, label{"observed_timestamp", strconv.FormatUint(record.observedTimeUnixNano, 10)})
	}
	if record.severityNumber != 0 {
		metadata = append(metadata, label{"severity_number", strconv.Itoa(int(record.severityNumber))})
	}
	if record.severityText != "" {
		if c.severityTextAsLabel {
			indexed = append(indexed, label{"severity_text", record.severityText})
		}
		metadata = append(metadata, label{"severity_text", record.severityText})
	}
	if record.droppedAttributes != 0 {
		metadata = append(metadata, label{"dropped_attributes_count", strconv.FormatUint(uint64(record.droppedAttributes), 10)})
	}
	if record.flags != 0 {
		metadata = append(metadata, label{"flags", strconv.FormatUint(uint64(record.flags), 10)})
	}
	if !allZero(record.traceID) {
		metadata = append(metadata, label{"trace_id", hex.EncodeToString(record.traceID)})
	}
	if !allZero(record.spanID) {
		metadata = append(metadata, label{"span_id", hex.EncodeToString(record.spanID)})
	}
	// timestampFromLogRecord: the record's time, else its observed time, else now.
	ts := int64(record.timeUnixNano)
	if ts == 0 {
		ts = int64(record.observedTimeUnixNano)
	}
	if ts == 0 {
		ts = time.Now().UnixNano()
	}
	return indexed, pushEntry{ts: ts, line: record.body.asString(), sm: metadata}, nil
}

func allZero(id []byte) bool {
	for _, b := range id {
		if b != 0 {
			return false
		}
	}
	return true
}

// --- the distributor -------------------------------------------------------------------------------

// groupedErrors: pkg/util/errors.go GroupedErrors (in the order first seen; Loki's order is a map's).
type groupedErrors struct {
	order  []string
	counts map[string]int
}

func (g *groupedErrors) add(err error) {
	if g.counts == nil {
		g.counts = map[string]int{}
	}
	text := err.Error()
	if g.counts[text] == 0 {
		g.order = append(g.order, text)
	}
	g.counts[text]++
}

func (g *groupedErrors) String() string {
	parts := make([]string, 0, len(g.order))
	for _, text := range g.order {
		if len(g.order) > 1 || g.counts[text] > 1 {
			text = fmt.Sprintf("%d errors like: %s", g.counts[text], text)
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "; ")
}

// distribute validates each stream and entry as the distributor does, adds service_name and
// detected_level, and stores what passes. It returns the validation errors' text ("" when none).
func distribute(tenantID string, streams *orderedStreams, cfg *settings, db *store, now time.Time) string {
	var errs groupedErrors
	l := cfg.limits
	oldest := now.Add(-l.rejectOldSamplesMaxAge).UnixNano()
	newest := now.Add(l.creationGracePeriod).UnixNano()
	levelFields := l.logLevelFields
	if len(levelFields) == 0 {
		levelFields = defaultLevelFields
	}
	for _, key := range streams.order {
		stream := streams.byKey[key]
		if len(stream.entries) == 0 {
			continue
		}
		labels := stream.labels
		// push.go: service_name from the discovery list when a stream has none.
		if _, ok := labelValue(labels, "service_name"); !ok && len(l.discoverServiceName) > 0 {
			service := "unknown_service"
			for _, candidate := range l.discoverServiceName {
				if value, ok := labelValue(labels, candidate); ok {
					service = value
					break
				}
			}
			labels = sortedLabels(append(append([]label{}, labels...), label{"service_name", service}))
		}
		name := labelsString(labels)
		// pkg/distributor/validator.go ValidateLabels.
		if len(labels) > l.maxLabelNamesPerSeries {
			errs.add(fmt.Errorf("entry for stream '%s' has %d label names; limit %d", name, len(labels), l.maxLabelNamesPerSeries))
			continue
		}
		if problem := labelLengthProblem(labels, name, l); problem != nil {
			errs.add(problem)
			continue
		}

		var accepted []storedEntry
		for _, entry := range stream.entries {
			if err := validateEntry(entry, name, l, oldest, newest); err != nil {
				errs.add(err)
				continue
			}
			metadata, err := normalizeMetadata(entry.sm)
			if err != nil {
				errs.add(err)
				continue
			}
			if l.allowStructuredMetadata && l.discoverLogLevels {
				if level, ok := extractLogLevel(labels, metadata, entry.line, levelFields); ok {
					metadata = append(metadata, label{"detected_level", level})
				}
			}
			accepted = append(accepted, storedEntry{ts: entry.ts, line: entry.line, sm: metadata})
		}
		if len(accepted) > 0 {
			db.push(tenantID, labels, accepted)
		}
	}
	if len(errs.order) == 0 {
		return ""
	}
	return errs.String()
}

func labelLengthProblem(labels []label, stream string, l limits) error {
	for _, lb := range labels {
		if len(lb.name) > l.maxLabelNameLength {
			return fmt.Errorf("stream '%s' has label name too long: '%s'", stream, lb.name)
		}
		if len(lb.value) > l.maxLabelValueLength {
			return fmt.Errorf("stream '%s' has label value too long: '%s'", stream, lb.value)
		}
	}
	return nil
}

// validateEntry: pkg/distributor/validator.go ValidateEntry, its messages (pkg/validation/validate.go).
func validateEntry(entry pushEntry, stream string, l limits, oldest, newest int64) error {
	if l.rejectOldSamples && entry.ts < oldest {
		return fmt.Errorf("entry for stream '%s' has timestamp too old: %v, oldest acceptable timestamp is: %v",
			stream, time.Unix(0, entry.ts).Format(time.RFC3339), time.Unix(0, oldest).Format(time.RFC3339))
	}
	if entry.ts > newest {
		return fmt.Errorf("entry for stream '%s' has timestamp too new: %v", stream, time.Unix(0, entry.ts).Format(time.RFC3339))
	}
	if l.maxLineSize != 0 && len(entry.line) > l.maxLineSize {
		return fmt.Errorf("max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes", l.maxLineSize, stream, len(entry.line))
	}
	if len(entry.sm) > 0 {
		if !l.allowStructuredMetadata {
			return fmt.Errorf("stream '%s' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it", stream)
		}
		size := 0
		for _, m := range entry.sm {
			size += len(m.name) + len(m.value)
		}
		if l.maxStructuredMetaSize != 0 && size > l.maxStructuredMetaSize {
			return fmt.Errorf("stream '%s' has structured metadata too large: '%d' bytes, limit: '%d' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it", stream, size, l.maxStructuredMetaSize)
		}
		if l.maxStructuredMetaCount != 0 && len(entry.sm) > l.maxStructuredMetaCount {
			return fmt.Errorf("stream '%s' has too many structured metadata labels: '%d', limit: '%d'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it", stream, len(entry.sm), l.maxStructuredMetaCount)
		}
	}
	return nil
}

// normalizeMetadata: the distributor renames structured metadata with the label namer and keeps it as a
// sorted label set (a later name replaces an earlier one of the same name).
func normalizeMetadata(metadata []label) ([]label, error) {
	byName := map[string]string{}
	for _, m := range metadata {
		name, err := buildLabelName(m.name)
		if err != nil {
			return nil, err
		}
		byName[name] = strings.ToValidUTF8(m.value, "")
	}
	out := make([]label, 0, len(byName))
	for name, value := range byName {
		out = append(out, label{name, value})
	}
	return sortedLabels(out), nil
}

// --- detected_level (pkg/distributor/field_detection.go) ------------------------------------------

func normalizeLogLevel(level string) string {
	switch strings.ToLower(level) {
	case "trace", "trc":
		return "trace"
	case "debug", "dbg":
		return "debug"
	case "info", "inf", "information":
		return "info"
	case "warn", "wrn", "warning":
		return "warn"
	case "error", "err":
		return "error"
	case "critical":
		return "critical"
	case "fatal":
		return "fatal"
	}
	return level
}

func extractLogLevel(streamLabels, metadata []label, line string, fields []string) (string, bool) {
	for i, m := range metadata {
		if m.name == "detected_level" {
			metadata[i].value = normalizeLogLevel(m.value)
			return "", false
		}
	}
	var level string
	if value, ok := firstLabel(streamLabels, fields); ok {
		level = normalizeLogLevel(value)
	} else if value, ok := firstLabel(metadata, fields); ok {
		level = normalizeLogLevel(value)
	} else if number, ok := labelValue(metadata, "severity_number"); ok && number != "" {
		level = levelFromSeverityNumber(number)
	} else {
		level = levelFromLine(line, fields)
	}
	return level, level != ""
}

func firstLabel(labels []label, names []string) (string, bool) {
	for _, name := range names {
		if value, ok := labelValue(labels, name); ok {
			return value, true
		}
	}
	return "", false
}

// levelFromSeverityNumber: OTLP severity number ranges (TRACE 1-4 ... FATAL 21-24).
func levelFromSeverityNumber(text string) string {
	n, err := strconv.Atoi(text)
	switch {
	case err != nil:
		return "info"
	case n == 0:
		return "unknown"
	case n <= 4:
		return "trace"
	case n <= 8:
		return "debug"
	case n <= 12:
		return "info"
	case n <= 16:
		return "warn"
	case n <= 20:
		return "error"
	case n <= 24:
		return "fatal"
	}
	return "unknown"
}

func levelFromLine(line string, fields []string) string {
	var value string
	if isJSONLine(line) {
		allowed := map[string]bool{}
		for _, f := range fields {
			allowed[f] = true
		}
		value = levelFromJSON(line, allowed, 2)
	} else if strings.Contains(line, "=") {
		value = valueFromLogfmt(line, fields)
	} else {
		return detectLevelFromLogLine(line)
	}
	switch strings.ToLower(value) {
	case "trace", "trc":
		return "trace"
	case "debug", "dbg":
		return "debug"
	case "info", "inf", "information":
		return "info"
	case "warn", "wrn", "warning":
		return "warn"
	case "error", "err":
		return "error"
	case "critical":
		return "critical"
	case "fatal":
		return "fatal"
	}
	return detectLevelFromLogLine(line)
}

func isJSONLine(line string) bool {
	trimmed := strings.TrimSpace(line)
	return strings.HasPrefix(trimmed, "{") && strings.HasSuffix(trimmed, "}")
}

// levelFromJSON: the first string value under an allowed key, in document order, up to maxDepth levels.
func levelFromJSON(line string, allowed map[string]bool, maxDepth int) string {
	decoder := json.NewDecoder(strings.NewReader(line))
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return ""
	}
	found, _ := jsonObjectLevel(decoder, allowed, 0, maxDepth)
	return found
}

// jsonObjectLevel reads the rest of an object (after its '{'); it returns the value found, if any.
func jsonObjectLevel(decoder *json.Decoder, allowed map[string]bool, depth, maxDepth int) (string, error) {
	for decoder.More() {
		keyToken, err := decoder.Token()
		if err != nil {
			return "", err
		}
		key, _ := keyToken.(string)
		valueToken, err := decoder.Token()
		if err != nil {
			return "", err
		}
		switch v := valueToken.(type) {
		case string:
			if allowed[key] {
				return v, nil
			}
		case json.Delim:
			if v == '{' && (maxDepth <= 0 || depth+1 < maxDepth) {
				if found, err := jsonObjectLevel(decoder, allowed, depth+1, maxDepth); err != nil || found != "" {
					return found, err
				}
			} else if err := skipJSON(decoder); err != nil {
				return "", err
			}
		}
	}
	_, err := decoder.Token() // the closing '}'
	return "", err
}

// skipJSON skips the rest of an object or array whose opening delimiter was just read.
func skipJSON(decoder *json.Decoder) error {
	for depth := 1; depth > 0; {
		token, err := decoder.Token()
		if err != nil {
			return err
		}
		if d, ok := token.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// valueFromLogfmt: getValueUsingLogfmtParser; keys compare case-insensitively, the earliest hint wins.
func valueFromLogfmt(line string, hints []string) string {
	position := len(hints)
	var result string
	for _, kv := range scanLogfmt(line) {
		for i, hint := range hints {
			if strings.EqualFold(kv.name, hint) && i < position {
				result, position = kv.value, i
				if i == 0 {
					return result
				}
			}
		}
	}
	return result
}

// scanLogfmt splits `key=value key2="quoted value" flag` into pairs.
func scanLogfmt(line string) []label {
	var out []label
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		start := i
		for i < len(line) && line[i] != '=' && line[i] != ' ' {
			i++
		}
		key := line[start:i]
		value := ""
		if i < len(line) && line[i] == '=' {
			i++
			if i < len(line) && line[i] == '"' {
				end := i + 1
				for end < len(line) && line[end] != '"' {
					if line[end] == '\\' {
						end++
					}
					end++
				}
				if end > len(line) {
					end = len(line)
				}
				if unquoted, err := strconv.Unquote(line[i:min(end+1, len(line))]); err == nil {
					value = unquoted
				} else {
					value = line[i+1 : end]
				}
				i = end + 1
			} else {
				start := i
				for i < len(line) && line[i] != ' ' {
					i++
				}
				value = line[start:i]
			}
		}
		if key != "" {
			out = append(out, label{key, value})
		}
	}
	return out
}

var levelWords = []struct{ word, level string }{
	{"trace", "trace"}, {"debug", "debug"}, {"fatal", "fatal"}, {"critical", "critical"},
	{"error", "error"}, {"err", "error"}, {"warning", "warn"}, {"warn", "warn"}, {"info", "info"},
}

func isLeftBoundary(s string, pos int) bool {
	if pos < 0 || pos >= len(s) {
		return true
	}
	return strings.IndexByte(" \t\n[({\"=", s[pos]) >= 0
}

func isRightBoundary(s string, pos int) bool {
	if pos < 0 || pos >= len(s) {
		return true
	}
	return strings.IndexByte(" \t\n[](){}:,!\"=", s[pos]) >= 0
}

func indexOfBoundedLevel(line, word string) int {
	offset := 0
	for {
		pos := strings.Index(line[offset:], word)
		if pos == -1 {
			return -1
		}
		abs := offset + pos
		if isLeftBoundary(line, abs-1) && isRightBoundary(line, abs+len(word)) {
			return abs
		}
		offset = abs + 1
	}
}

// detectLevelFromLogLine: the earliest level word standing alone in the line, else "unknown".
func detectLevelFromLogLine(line string) string {
	lower := strings.ToLower(line)
	index, guess := len(lower), "unknown"
	for _, p := range levelWords {
		pos := indexOfBoundedLevel(lower, p.word)
		if pos == -1 || pos >= index {
			continue
		}
		index, guess = pos, p.level
		if index == 0 {
			break
		}
	}
	return guess
}

// readBody: the request body, gunzipped when Content-Encoding says gzip (pkg/loghttp/push/otlp.go
// extractLogs; Loki also takes zstd and lz4, which the stand-in refuses as an unknown encoding).
func readBody(body io.Reader, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		return io.ReadAll(body)
	case "gzip":
		reader, err := gzip.NewReader(body)
		if err != nil {
			return nil, err
		}
		defer reader.Close()
		return io.ReadAll(reader)
	}
	return nil, fmt.Errorf("unsupported content encoding %s: only gzip, lz4 and zstd are supported", encoding)
}
