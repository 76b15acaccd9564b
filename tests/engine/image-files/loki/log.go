package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	levelDebug = iota
	levelInfo
	levelWarn
	levelError
)

var levelNames = []string{"debug", "info", "warn", "error"}

// logger writes as Loki's does (pkg/util/log/log.go: go-kit logfmt or JSON on stderr, "level" then "ts" in
// RFC 3339 UTC, filtered by server.log_level). The stand-in leaves out Loki's "caller" field.
type logger struct {
	mu      sync.Mutex
	minimum int
	json    bool
}

func newLogger(level, format string) *logger {
	minimum := levelInfo
	for i, name := range levelNames {
		if name == level {
			minimum = i
		}
	}
	return &logger{minimum: minimum, json: format == "json"}
}

func (l *logger) log(level int, keyvals ...string) {
	if level < l.minimum {
		return
	}
	pairs := append([]string{"level", levelNames[level], "ts", time.Now().UTC().Format(time.RFC3339Nano)}, keyvals...)
	var line string
	if l.json {
		fields := make([]string, 0, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			key, _ := json.Marshal(pairs[i])
			value, _ := json.Marshal(pairs[i+1])
			fields = append(fields, fmt.Sprintf("%s:%s", key, value))
		}
		line = "{" + strings.Join(fields, ",") + "}"
	} else {
		fields := make([]string, 0, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			fields = append(fields, pairs[i]+"="+logfmtValue(pairs[i+1]))
		}
		line = strings.Join(fields, " ")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(os.Stderr, line)
}

// logfmtValue quotes a value that holds a space, '=', a quote or a control character, as go-logfmt does.
func logfmtValue(value string) string {
	if value == "" {
		return `""`
	}
	for _, r := range value {
		if r <= ' ' || r == '=' || r == '"' || r == 0x7f {
			return strconv.Quote(value)
		}
	}
	return value
}
