package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v2"

	"local/llama-telemetry-test/loki-stand-in/loki"
)

// settings: what the stand-in takes from the file and the flags, with Loki 3.7.6's defaults.
type settings struct {
	target      string
	authEnabled bool
	httpAddress string
	httpPort    int
	grpcAddress string
	grpcPort    int
	logLevel    string
	logFormat   string

	pathPrefix          string
	rulesDirectory      string
	chunksDirectory     string
	walEnabled          bool
	walDirectory        string
	tsdbActiveDirectory string
	tsdbCacheDirectory  string
	compactorDirectory  string
	schema              []periodConfig
	minReadyDuration    time.Duration

	limits limits
	otlp   otlpConfig
}

type periodConfig struct {
	from        time.Time
	store       string
	objectStore string
	schema      string
}

// limits: the limits_config values the stand-in enforces (pkg/validation/limits.go RegisterFlags defaults).
type limits struct {
	allowStructuredMetadata bool
	discoverLogLevels       bool
	logLevelFields          []string
	discoverServiceName     []string
	rejectOldSamples        bool
	rejectOldSamplesMaxAge  time.Duration
	creationGracePeriod     time.Duration
	maxLineSize             int
	maxStructuredMetaSize   int
	maxStructuredMetaCount  int
	maxLabelNamesPerSeries  int
	maxLabelNameLength      int
	maxLabelValueLength     int
	maxEntriesLimitPerQuery int
}

func (s *settings) activePeriod() periodConfig {
	// pkg/storage/config/schema_config.go ActivePeriodConfig: the last period that has begun.
	now := time.Now()
	index := sort.Search(len(s.schema), func(i int) bool { return s.schema[i].from.After(now) })
	if index > 0 {
		index--
	}
	return s.schema[index]
}

func (s *settings) usesTSDB() bool {
	for _, p := range s.schema {
		if p.store == "tsdb" {
			return true
		}
	}
	return false
}

func (s *settings) usesFilesystem() bool {
	for _, p := range s.schema {
		if p.objectStore == "filesystem" {
			return true
		}
	}
	return false
}

// loadConfigFile follows pkg/util/cfg/files.go ConfigFileLoader and YAML: the first path of the
// comma-separated list that exists, read, optionally env-expanded, decoded strictly with yaml.v2 (the
// library Loki uses, so errors read the same). It returns the file's path ("" when none is configured).
func loadConfigFile(list string, expandEnv bool) (*loki.ConfigWrapper, string, error) {
	wrapper := &loki.ConfigWrapper{}
	if list == "" {
		return wrapper, "", nil
	}
	for _, path := range strings.Split(list, ",") {
		path = strings.TrimSpace(path)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		data, err := os.ReadFile(path)
		if err == nil {
			if expandEnv {
				data = []byte(os.Expand(string(data), expandVariable))
			}
			if err = yaml.UnmarshalStrict(data, wrapper); err != nil {
				err = fmt.Errorf("%s: %w", path, err)
			}
		}
		if err != nil && !expandEnv {
			err = fmt.Errorf("%w. Use `-config.expand-env=true` flag if you want to expand environment variables in your config file", err)
		}
		return wrapper, path, err
	}
	return nil, "", fmt.Errorf("%s does not exist, set config.file for custom config path", list)
}

// expandVariable: ${VAR} and ${VAR:-default}, the forms of github.com/drone/envsubst Loki's files use.
func expandVariable(name string) string {
	if key, fallback, ok := strings.Cut(name, ":-"); ok {
		if value := os.Getenv(key); value != "" {
			return value
		}
		return fallback
	}
	return os.Getenv(name)
}

// --- reading values -------------------------------------------------------------------------------

type reader struct{ errs []string }

func lookup(section loki.Section, path ...string) (interface{}, bool) {
	var current interface{} = map[string]interface{}(section)
	for _, key := range path {
		switch m := current.(type) {
		case map[string]interface{}:
			value, ok := m[key]
			if !ok {
				return nil, false
			}
			current = value
		case map[interface{}]interface{}:
			value, ok := m[key]
			if !ok {
				return nil, false
			}
			current = value
		default:
			return nil, false
		}
	}
	return current, current != nil
}

// mismatch words a wrong type as yaml.v2 does ("cannot unmarshal !!str `x` into int").
func (r *reader) mismatch(value interface{}, into string) {
	tag := "!!map"
	switch value.(type) {
	case string:
		tag = "!!str"
	case int, int64, uint64:
		tag = "!!int"
	case float64:
		tag = "!!float"
	case bool:
		tag = "!!bool"
	case []interface{}:
		tag = "!!seq"
	}
	r.errs = append(r.errs, fmt.Sprintf("cannot unmarshal %s `%v` into %s", tag, value, into))
}

func (r *reader) str(section loki.Section, fallback string, path ...string) string {
	value, ok := lookup(section, path...)
	if !ok {
		return fallback
	}
	switch v := value.(type) {
	case string:
		return v
	case int, int64, float64, bool:
		return fmt.Sprint(v)
	}
	r.mismatch(value, "string")
	return fallback
}

func (r *reader) integer(section loki.Section, fallback int, path ...string) int {
	value, ok := lookup(section, path...)
	if !ok {
		return fallback
	}
	if v, ok := value.(int); ok {
		return v
	}
	r.mismatch(value, "int")
	return fallback
}

func (r *reader) boolean(section loki.Section, fallback bool, path ...string) bool {
	value, ok := lookup(section, path...)
	if !ok {
		return fallback
	}
	if v, ok := value.(bool); ok {
		return v
	}
	r.mismatch(value, "bool")
	return fallback
}

func (r *reader) duration(section loki.Section, fallback time.Duration, path ...string) time.Duration {
	value, ok := lookup(section, path...)
	if !ok {
		return fallback
	}
	if text, ok := value.(string); ok {
		if d, err := parseDuration(text); err == nil {
			return d
		}
	}
	r.mismatch(value, "time.Duration")
	return fallback
}

func (r *reader) byteSize(section loki.Section, fallback int, path ...string) int {
	value, ok := lookup(section, path...)
	if !ok {
		return fallback
	}
	if n, ok := value.(int); ok {
		return n
	}
	if text, ok := value.(string); ok {
		if n, err := parseByteSize(text); err == nil {
			return n
		}
	}
	r.mismatch(value, "flagext.ByteSize")
	return fallback
}

func (r *reader) strings(section loki.Section, fallback []string, path ...string) []string {
	value, ok := lookup(section, path...)
	if !ok {
		return fallback
	}
	items, ok := value.([]interface{})
	if !ok {
		r.mismatch(value, "[]string")
		return fallback
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		out = append(out, fmt.Sprint(item))
	}
	return out
}

// parseDuration takes Go durations and Prometheus's (model.ParseDuration: d, w and y as well).
func parseDuration(text string) (time.Duration, error) {
	if d, err := time.ParseDuration(text); err == nil {
		return d, nil
	}
	units := map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
	}
	parts := regexp.MustCompile(`^(?:(\d+)(ms|s|m|h|d|w|y))+$`)
	if !parts.MatchString(text) {
		return 0, fmt.Errorf("not a valid duration string: %q", text)
	}
	var total time.Duration
	for _, m := range regexp.MustCompile(`(\d+)(ms|s|m|h|d|w|y)`).FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		total += time.Duration(n) * units[m[2]]
	}
	return total, nil
}

// parseByteSize: flagext.ByteSize (github.com/c2h5oh/datasize) units, powers of 1024, any case.
func parseByteSize(text string) (int, error) {
	m := regexp.MustCompile(`^\s*(\d+)\s*([a-zA-Z]*)\s*$`).FindStringSubmatch(text)
	if m == nil {
		return 0, fmt.Errorf("invalid byte size %q", text)
	}
	n, _ := strconv.Atoi(m[1])
	multiplier := map[string]int{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}
	factor, ok := multiplier[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("invalid byte size %q", text)
	}
	return n * factor, nil
}

// --- settings --------------------------------------------------------------------------------------

// Loki's defaults, each from its flag registration at v3.7.6.
var (
	// pkg/validation/limits.go DefaultAllowedLevelFields.
	defaultLevelFields = []string{
		"level", "LEVEL", "Level", "log.level", "severity", "SEVERITY", "Severity", "SeverityText",
		"lvl", "LVL", "Lvl", "severity_text", "Severity_Text", "SEVERITY_TEXT",
	}
	// pkg/validation/limits.go: -validation.discover-service-name.
	defaultDiscoverServiceName = []string{
		"service", "app", "application", "app_name", "name", "app_kubernetes_io_name", "container",
		"container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name",
	}
	// pkg/loghttp/push/otlp_config.go GlobalOTLPConfig.RegisterFlags.
	defaultIndexedResourceAttributes = []string{
		"service.name", "service.namespace", "service.instance.id", "deployment.environment",
		"deployment.environment.name", "cloud.region", "cloud.availability_zone", "k8s.cluster.name",
		"k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "container.name", "k8s.replicaset.name",
		"k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name",
	}
)

func buildSettings(w *loki.ConfigWrapper, flags *flagValues) (*settings, error) {
	r := &reader{}
	s := &settings{
		target:      "all",
		authEnabled: true, // pkg/loki/loki.go: -auth.enabled defaults to true
	}
	if w.Target != "" {
		s.target = w.Target
	}
	if w.AuthEnabled != nil {
		s.authEnabled = *w.AuthEnabled
	}

	// dskit server config (Loki changes only the HTTP port's default: 3100).
	s.httpAddress = r.str(w.Server, "", "http_listen_address")
	s.httpPort = r.integer(w.Server, 3100, "http_listen_port")
	s.grpcAddress = r.str(w.Server, "", "grpc_listen_address")
	s.grpcPort = r.integer(w.Server, 9095, "grpc_listen_port")
	s.logLevel = r.str(w.Server, "info", "log_level")
	s.logFormat = r.str(w.Server, "logfmt", "log_format")

	// pkg/loki/config_wrapper.go applyPathPrefixDefaults and the storage defaults that follow path_prefix.
	s.pathPrefix = r.str(w.Common, "", "path_prefix")
	if flags.set["common.path-prefix"] {
		s.pathPrefix = flags.pathPrefix
	}
	prefix := strings.TrimSuffix(s.pathPrefix, "/")
	s.rulesDirectory = r.str(w.RulerStorage, r.str(w.Common, "", "storage", "filesystem", "rules_directory"), "local", "directory")
	s.chunksDirectory = r.str(w.StorageConfig, r.str(w.Common, "", "storage", "filesystem", "chunks_directory"), "filesystem", "directory")
	s.walEnabled = r.boolean(w.Ingester, true, "wal", "enabled")
	s.walDirectory = "wal" // pkg/ingester/wal.go: -ingester.wal-dir "wal", relative to the working directory
	s.compactorDirectory = "/var/loki/compactor"
	if prefix != "" {
		s.walDirectory = prefix + "/wal"
		s.compactorDirectory = prefix + "/compactor"
		s.tsdbActiveDirectory = prefix + "/tsdb-shipper-active"
		s.tsdbCacheDirectory = prefix + "/tsdb-shipper-cache"
	}
	s.walDirectory = r.str(w.Ingester, s.walDirectory, "wal", "dir")
	s.compactorDirectory = r.str(w.CompactorConfig, s.compactorDirectory, "working_directory")
	s.tsdbActiveDirectory = r.str(w.StorageConfig, s.tsdbActiveDirectory, "tsdb_shipper", "active_index_directory")
	s.tsdbCacheDirectory = r.str(w.StorageConfig, s.tsdbCacheDirectory, "tsdb_shipper", "cache_location")
	// dskit ring lifecycler: -ingester.min-ready-duration 15s (what /ready's message names).
	s.minReadyDuration = r.duration(w.Ingester, 15*time.Second, "lifecycler", "min_ready_duration")

	if configs, ok := lookup(w.SchemaConfig, "configs"); ok {
		items, isList := configs.([]interface{})
		if !isList {
			r.mismatch(configs, "[]config.PeriodConfig")
		}
		for _, item := range items {
			section := toSection(item)
			period := periodConfig{
				store:       r.str(section, "", "store"),
				objectStore: r.str(section, "", "object_store"),
				schema:      r.str(section, "", "schema"),
			}
			from := r.str(section, "", "from")
			if t, err := time.Parse("2006-01-02", from); err == nil {
				period.from = t
			} else if value, ok := lookup(section, "from"); ok {
				if t, ok := value.(time.Time); ok {
					period.from = t
				} else {
					r.errs = append(r.errs, fmt.Sprintf("parsing time %q as \"2006-01-02\": cannot parse", from))
				}
			}
			s.schema = append(s.schema, period)
		}
	}

	l := &s.limits
	lc := w.LimitsConfig
	l.allowStructuredMetadata = r.boolean(lc, true, "allow_structured_metadata")
	l.discoverLogLevels = r.boolean(lc, true, "discover_log_levels")
	l.logLevelFields = r.strings(lc, defaultLevelFields, "log_level_fields")
	l.discoverServiceName = r.strings(lc, defaultDiscoverServiceName, "discover_service_name")
	l.rejectOldSamples = r.boolean(lc, true, "reject_old_samples")
	l.rejectOldSamplesMaxAge = r.duration(lc, 7*24*time.Hour, "reject_old_samples_max_age")
	l.creationGracePeriod = r.duration(lc, 10*time.Minute, "creation_grace_period")
	l.maxLineSize = r.byteSize(lc, 256<<10, "max_line_size")
	l.maxStructuredMetaSize = r.byteSize(lc, 64<<10, "max_structured_metadata_size")
	l.maxStructuredMetaCount = r.integer(lc, 128, "max_structured_metadata_entries_count")
	l.maxLabelNamesPerSeries = r.integer(lc, 15, "max_label_names_per_series")
	l.maxLabelNameLength = r.integer(lc, 1024, "max_label_name_length")
	l.maxLabelValueLength = r.integer(lc, 2048, "max_label_value_length")
	l.maxEntriesLimitPerQuery = r.integer(lc, 5000, "max_entries_limit_per_query")

	otlp, err := parseOTLPConfig(r, w)
	if err != nil {
		return nil, err
	}
	s.otlp = otlp

	// Flags given on the command line win over the file (pkg/util/cfg/dynamic.go: Flags after the file).
	if flags.set["auth.enabled"] {
		s.authEnabled = flags.authEnabled
	}
	if flags.set["target"] {
		s.target = flags.target
	}
	if flags.set["server.http-listen-port"] {
		s.httpPort = flags.httpPort
	}
	if flags.set["server.http-listen-address"] {
		s.httpAddress = flags.httpAddress
	}
	if flags.set["server.grpc-listen-port"] {
		s.grpcPort = flags.grpcPort
	}
	if flags.set["log.level"] {
		s.logLevel = flags.logLevel
	}
	if flags.set["log.format"] {
		s.logFormat = flags.logFormat
	}
	if flags.set["validation.allow-structured-metadata"] {
		l.allowStructuredMetadata = flags.allowStructured
	}
	if flags.set["validation.discover-log-levels"] {
		l.discoverLogLevels = flags.discoverLevels
	}

	// dskit log.Level: an unknown level fails while the file is decoded.
	switch s.logLevel {
	case "debug", "info", "warn", "error":
	default:
		r.errs = append(r.errs, fmt.Sprintf("unrecognized log level %q", s.logLevel))
	}
	if s.logFormat != "logfmt" && s.logFormat != "json" {
		r.errs = append(r.errs, fmt.Sprintf("unrecognized log format %q", s.logFormat))
	}
	if len(r.errs) > 0 {
		return nil, errors.New("yaml: unmarshal errors:\n  " + strings.Join(r.errs, "\n  "))
	}
	return s, nil
}

func toSection(value interface{}) loki.Section {
	out := loki.Section{}
	switch m := value.(type) {
	case map[interface{}]interface{}:
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
	case map[string]interface{}:
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// validateSettings: the checks of pkg/loki/loki.go Config.Validate and pkg/loki/validation.go that a
// single-binary filesystem configuration can fail, with their messages.
func validateSettings(s *settings) error {
	if len(s.schema) == 0 {
		// pkg/storage/config/schema_config.go errZeroLengthConfig.
		return errors.New("CONFIG ERROR: invalid schema config: must specify at least one schema configuration")
	}
	var errs []error
	if err := s.otlp.validate(); err != nil {
		errs = append(errs, fmt.Errorf("CONFIG ERROR: invalid limits_config config: %w", err))
	}
	// validateSchemaValues.
	indexTypes := []string{"boltdb-shipper", "tsdb", "aws", "aws-dynamo", "bigtable", "bigtable-hashed", "boltdb", "cassandra", "gcp", "gcp-columnkey", "grpc-store", "inmemory"}
	storeTypes := []string{"filesystem", "aws", "alibabacloud", "azure", "bos", "cos", "gcs", "s3", "swift", "noop", "aws-dynamo", "bigtable", "bigtable-hashed", "cassandra", "gcp", "gcp-columnkey", "grpc-store", "inmemory"}
	for _, p := range s.schema {
		if !contains(indexTypes, p.store) {
			errs = append(errs, fmt.Errorf("unrecognized `store` (index) type `%s`, choose one of: boltdb-shipper, tsdb", p.store))
		}
		if !contains(storeTypes, p.objectStore) {
			errs = append(errs, fmt.Errorf("unrecognized `object_store` type `%s`, which also does not match any named_stores. Choose one of: filesystem, aws, alibabacloud, azure, bos, cos, gcs, s3, swift, noop. Or choose a named_store", p.objectStore))
		}
	}
	// validateSchemaRequirements: structured metadata (which OTLP ingestion needs) wants schema v13 and tsdb.
	active := s.activePeriod()
	version, err := strconv.Atoi(strings.TrimPrefix(active.schema, "v"))
	if err != nil {
		errs = append(errs, fmt.Errorf("CONFIG ERROR: invalid schema version at schema position %d", activeIndex(s)))
	} else {
		if s.limits.allowStructuredMetadata && version < 13 {
			errs = append(errs, fmt.Errorf("CONFIG ERROR: schema v13 is required to store Structured Metadata and use native OTLP ingestion, your schema version is %s. Set `allow_structured_metadata: false` in the `limits_config` section or set the command line argument `-validation.allow-structured-metadata=false` and restart Loki. Then proceed to update to schema v13 or newer before re-enabling this config, search for 'Storage Schema' in the docs for the schema update procedure", active.schema))
		}
		if s.limits.allowStructuredMetadata && active.store != "tsdb" {
			errs = append(errs, fmt.Errorf("CONFIG ERROR: `tsdb` index type is required to store Structured Metadata and use native OTLP ingestion, your index type is `%s` (defined in the `store` parameter of the schema_config). Set `allow_structured_metadata: false` in the `limits_config` section or set the command line argument `-validation.allow-structured-metadata=false` and restart Loki. Then proceed to update the schema to use index type `tsdb` before re-enabling this config, search for 'Storage Schema' in the docs for the schema update procedure", active.store))
		}
	}
	// validateDirectoriesExist.
	if s.usesTSDB() {
		if s.tsdbActiveDirectory == "" {
			errs = append(errs, errors.New("CONFIG ERROR: `tsdb` index type is configured in at least one schema period, however, `storage_config`, `tsdb_shipper`, `active_index_directory` is not set, please set this directly or set `path_prefix:` in the `common:` section"))
		}
		if s.tsdbCacheDirectory == "" {
			errs = append(errs, errors.New("CONFIG ERROR: `tsdb` index type is configured in at least one schema period, however, `storage_config`, `tsdb_shipper`, `cache_location` is not set, please set this directly or set `path_prefix:` in the `common:` section"))
		}
		if s.compactorDirectory == "" {
			errs = append(errs, errors.New("CONFIG ERROR: `compactor:` `working_directory:` is empty, please set a valid directory or set `path_prefix:` in the `common:` section"))
		}
	}
	if len(errs) > 1 {
		return errors.Join(append([]error{errors.New("MULTIPLE CONFIG ERRORS FOUND, PLEASE READ CAREFULLY")}, errs...)...)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return nil
}

func activeIndex(s *settings) int {
	now := time.Now()
	index := sort.Search(len(s.schema), func(i int) bool { return s.schema[i].from.After(now) })
	if index > 0 {
		index--
	}
	return index
}

func contains(list []string, value string) bool {
	for _, item := range list {
		if item == value {
			return true
		}
	}
	return false
}
