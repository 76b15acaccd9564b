package main

// The stand-in's storage: every tenant's streams in memory, entries ordered by time. Loki keeps the same
// model (a stream is its label set; each entry a timestamp, a line and structured metadata) in chunks on
// the filesystem; the stand-in loses everything when it stops.

import (
	"sort"
	"sync"
)

type storedEntry struct {
	ts   int64
	line string
	sm   []label // sorted by name
}

type storedStream struct {
	labels  []label // sorted by name
	key     string  // labelsString(labels)
	entries []storedEntry
}

type store struct {
	mu      sync.RWMutex
	tenants map[string]map[string]*storedStream
	lines   map[string]int64 // per tenant, for /metrics
	bytes   map[string]int64
}

func newStore() *store {
	return &store{
		tenants: map[string]map[string]*storedStream{},
		lines:   map[string]int64{},
		bytes:   map[string]int64{},
	}
}

// push appends entries to the stream; out-of-order entries are accepted (Loki 3's unordered writes),
// and an entry with the timestamp and line of one already stored is dropped as a duplicate, as the
// ingester drops it.
func (s *store) push(tenant string, labels []label, entries []storedEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	streams := s.tenants[tenant]
	if streams == nil {
		streams = map[string]*storedStream{}
		s.tenants[tenant] = streams
	}
	key := labelsString(labels)
	stream := streams[key]
	if stream == nil {
		stream = &storedStream{labels: sortedLabels(labels), key: key}
		streams[key] = stream
	}
	for _, entry := range entries {
		s.lines[tenant]++
		s.bytes[tenant] += int64(len(entry.line))
		at := sort.Search(len(stream.entries), func(i int) bool { return stream.entries[i].ts > entry.ts })
		duplicate := false
		for i := at - 1; i >= 0 && stream.entries[i].ts == entry.ts; i-- {
			if stream.entries[i].line == entry.line {
				duplicate = true
				break
			}
		}
		if duplicate {
			continue
		}
		stream.entries = append(stream.entries, storedEntry{})
		copy(stream.entries[at+1:], stream.entries[at:])
		stream.entries[at] = entry
	}
}

// snapshot: the tenant's streams (shared entry slices are never modified in place after a push returns
// them, because push only inserts under the lock and readers copy the slice header under it).
func (s *store) snapshot(tenant string) []storedStream {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]storedStream, 0, len(s.tenants[tenant]))
	for _, stream := range s.tenants[tenant] {
		entries := make([]storedEntry, len(stream.entries))
		copy(entries, stream.entries)
		out = append(out, storedStream{labels: stream.labels, key: stream.key, entries: entries})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (s *store) counters() (map[string]int64, map[string]int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	lines, bytes := map[string]int64{}, map[string]int64{}
	for k, v := range s.lines {
		lines[k] = v
	}
	for k, v := range s.bytes {
		bytes[k] = v
	}
	return lines, bytes
}
