// Package loki holds the stand-in's view of Loki's configuration file. It is its own package so that
// yaml.v2's strict decoding names the type the way it names Loki's: a misspelt top-level key fails with
// "field X not found in type loki.ConfigWrapper", exactly as Loki 3.7 reports it.
package loki

import "time"

// Section is one top-level block of the file. The stand-in reads a few keys of some of them and checks
// the keys of none below the top level (Loki checks them all).
type Section map[string]interface{}

// ConfigWrapper has every top-level key Loki 3.7.6 accepts: pkg/loki/loki.go `Config` (inlined into
// pkg/loki/config_wrapper.go `ConfigWrapper`, whose other fields are command-line flags only).
type ConfigWrapper struct {
	Target       string `yaml:"target,omitempty"`
	AuthEnabled  *bool  `yaml:"auth_enabled,omitempty"` // absent: true (the -auth.enabled flag's default)
	HTTPPrefix   string `yaml:"http_prefix"`
	BallastBytes int    `yaml:"ballast_bytes"`

	Server                     Section `yaml:"server,omitempty"`
	InternalServer             Section `yaml:"internal_server,omitempty"`
	UI                         Section `yaml:"ui,omitempty"`
	Distributor                Section `yaml:"distributor,omitempty"`
	Querier                    Section `yaml:"querier,omitempty"`
	QueryEngine                Section `yaml:"query_engine,omitempty"`
	QueryScheduler             Section `yaml:"query_scheduler"`
	Frontend                   Section `yaml:"frontend,omitempty"`
	QueryRange                 Section `yaml:"query_range,omitempty"`
	Ruler                      Section `yaml:"ruler,omitempty"`
	RulerStorage               Section `yaml:"ruler_storage,omitempty"`
	IngesterClient             Section `yaml:"ingester_client,omitempty"`
	Ingester                   Section `yaml:"ingester,omitempty"`
	Pattern                    Section `yaml:"pattern_ingester,omitempty"`
	IndexGateway               Section `yaml:"index_gateway"`
	BloomBuild                 Section `yaml:"bloom_build,omitempty"`
	BloomGateway               Section `yaml:"bloom_gateway,omitempty"`
	StorageConfig              Section `yaml:"storage_config,omitempty"`
	ChunkStoreConfig           Section `yaml:"chunk_store_config,omitempty"`
	SchemaConfig               Section `yaml:"schema_config,omitempty"`
	CompactorConfig            Section `yaml:"compactor,omitempty"`
	CompactorHTTPClient        Section `yaml:"compactor_client,omitempty"`
	CompactorGRPCClient        Section `yaml:"compactor_grpc_client,omitempty"`
	LimitsConfig               Section `yaml:"limits_config"`
	Worker                     Section `yaml:"frontend_worker,omitempty"`
	TableManager               Section `yaml:"table_manager,omitempty"`
	MemberlistKV               Section `yaml:"memberlist"`
	KafkaConfig                Section `yaml:"kafka_config,omitempty"`
	DataObj                    Section `yaml:"dataobj,omitempty"`
	IngestLimits               Section `yaml:"ingest_limits,omitempty"`
	IngestLimitsFrontend       Section `yaml:"ingest_limits_frontend,omitempty"`
	IngestLimitsFrontendClient Section `yaml:"ingest_limits_frontend_client,omitempty"`
	RuntimeConfig              Section `yaml:"runtime_config,omitempty"`
	OperationalConfig          Section `yaml:"operational_config,omitempty"`
	Tracing                    Section `yaml:"tracing"`
	Analytics                  Section `yaml:"analytics"`
	Profiling                  Section `yaml:"profiling,omitempty"`

	TenantLimitsAllowPublish []string      `yaml:"tenant_limits_allow_publish"`
	LegacyReadTarget         bool          `yaml:"legacy_read_target,omitempty"`
	Common                   Section       `yaml:"common,omitempty"`
	ShutdownDelay            time.Duration `yaml:"shutdown_delay"`
	MetricsNamespace         string        `yaml:"metrics_namespace"`
}
