// A test stand-in for Grafana Loki 3.7.6 (Loki is AGPL and is not built here). One static program that
// starts, fails and answers the way the single-binary Loki (`-target=all`) does for what llama-telemetry
// uses: its command line and configuration file, /ready, OTLP log ingestion at /otlp/v1/logs and the
// query API Grafana's Loki datasource calls. Logs are kept in memory only.
//
// Every behaviour names the Loki source it follows (grafana/loki at v3.7.6 unless said otherwise). Where
// the stand-in does less than Loki, the comment says so.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// version is set at build time (-ldflags "-X main.version=3.7.6"): the release the stand-in answers as.
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

// flagValues are the command-line flags the stand-in knows. Loki registers hundreds; these are the ones
// of cmd/loki and pkg/loki/config_wrapper.go plus the few an operator is likely to pass. Any other flag
// fails as an unknown flag would (the stand-in's only divergence: a real flag it lacks fails too).
type flagValues struct {
	configFile      string
	expandEnv       bool
	verifyConfig    bool
	printConfig     bool
	listTargets     bool
	logConfig       bool
	target          string
	authEnabled     bool
	httpPort        int
	httpAddress     string
	grpcPort        int
	logLevel        string
	logFormat       string
	pathPrefix      string
	allowStructured bool
	discoverLevels  bool
	set             map[string]bool // the flags given on the command line: they override the file
}

func newFlagSet(v *flagValues) *flag.FlagSet {
	fs := flag.NewFlagSet("loki", flag.ContinueOnError)
	// pkg/loki/config_wrapper.go RegisterFlags.
	fs.BoolVar(&v.verifyConfig, "verify-config", false, "Verify config file and exits")
	fs.BoolVar(&v.printConfig, "print-config-stderr", false, "Dump the entire Loki config object to stderr")
	fs.BoolVar(&v.listTargets, "list-targets", false, "List available targets")
	fs.BoolVar(&v.logConfig, "log-config-reverse-order", false, "Dump the entire Loki config object at Info log level with the order reversed")
	fs.StringVar(&v.configFile, "config.file", "config.yaml,config/config.yaml", "configuration file to load, can be a comma separated list of paths, first existing file will be used")
	fs.BoolVar(&v.expandEnv, "config.expand-env", false, "Expands ${var} in config according to the values of the environment variables.")
	// pkg/loki/loki.go Config.RegisterFlags and the server flags whose defaults Loki changes (port 3100).
	fs.StringVar(&v.target, "target", "all", "A comma-separated list of components to run.")
	fs.BoolVar(&v.authEnabled, "auth.enabled", true, "Enables authentication through the X-Scope-OrgID header, which must be present if true.")
	fs.IntVar(&v.httpPort, "server.http-listen-port", 3100, "HTTP server listen port.")
	fs.StringVar(&v.httpAddress, "server.http-listen-address", "", "HTTP server listen address.")
	fs.IntVar(&v.grpcPort, "server.grpc-listen-port", 9095, "gRPC server listen port.")
	fs.StringVar(&v.logLevel, "log.level", "info", "Only log messages with the given severity or above.")
	fs.StringVar(&v.logFormat, "log.format", "logfmt", "Output log messages in the given format. Valid formats: [logfmt, json]")
	fs.StringVar(&v.pathPrefix, "common.path-prefix", "", "prefix for the path")
	fs.BoolVar(&v.allowStructured, "validation.allow-structured-metadata", true, "Allow user to send structured metadata (non-indexed labels) in push payload.")
	fs.BoolVar(&v.discoverLevels, "validation.discover-log-levels", true, "Discover and add log levels during ingestion, if not present already.")
	return fs
}

func run(args []string) int {
	// cmd/loki/main.go: `-health` and `-version` are looked for before any flag parsing.
	if argPresent(args, "health") {
		return runHealthCheck(args)
	}
	if argPresent(args, "version") {
		fmt.Printf("loki, version %s (branch: stand-in, revision: stand-in)\n", version)
		fmt.Printf("  build user:       llama-telemetry-tests\n  build date:       unknown\n")
		fmt.Printf("  go version:       %s\n  platform:         %s/%s\n  tags:             netgo\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}

	var flags flagValues
	fs := newFlagSet(&flags)
	// pkg/util/cfg/files.go ConfigFileLoader: usage only on -help (exit 2); an unknown flag prints Go's
	// flag error, then "Run with -help ..." (exit 2).
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return 2
		}
		fmt.Fprintln(os.Stderr, "Run with -help to get list of available parameters")
		return 2
	}
	flags.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flags.set[f.Name] = true })

	// cmd/loki/main.go: cfg.DynamicUnmarshal errors print "failed parsing config: ..." and exit 1.
	wrapper, path, err := loadConfigFile(flags.configFile, flags.expandEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "failed parsing config: %v\n", err)
		return 1
	}
	cfg, err := buildSettings(wrapper, &flags)
	if err != nil {
		// In Loki these are errors of the same strict decoding, so they read like loadConfigFile's.
		if path != "" {
			err = fmt.Errorf("%s: %w", path, err)
			if !flags.expandEnv {
				err = fmt.Errorf("%w. Use `-config.expand-env=true` flag if you want to expand environment variables in your config file", err)
			}
		}
		fmt.Fprintf(os.Stderr, "failed parsing config: %v\n", err)
		return 1
	}

	logger := newLogger(cfg.logLevel, cfg.logFormat)
	// cmd/loki/main.go: config.Validate() failures are logged as msg="validating config" (exit 1).
	if err := validateSettings(cfg); err != nil {
		logger.log(levelError, "msg", "validating config", "err", err.Error())
		return 1
	}
	if flags.verifyConfig {
		logger.log(levelInfo, "msg", "config is valid")
		return 0
	}
	if flags.listTargets {
		fmt.Println("all")
		return 0
	}
	if cfg.target != "all" {
		logger.log(levelError, "msg", "error initializing loki", "err", fmt.Sprintf("the Loki stand-in runs only -target=all, not %q", cfg.target))
		return 1
	}

	logger.log(levelInfo, "msg", "Starting Loki", "version", fmt.Sprintf("(version=%s, branch=stand-in, revision=stand-in)", version))
	logger.log(levelInfo, "msg", "Loading configuration file", "filename", path)
	return serve(cfg, logger)
}

// argPresent: cmd/loki/main.go finds -version and -health with the pattern `^-+NAME$`.
func argPresent(args []string, name string) bool {
	pattern := regexp.MustCompile(`^-+` + regexp.QuoteMeta(name) + `$`)
	for _, arg := range args {
		if pattern.MatchString(arg) {
			return true
		}
	}
	return false
}

// runHealthCheck follows cmd/loki/health.go: GET -health.url (default http://localhost:3100/ready), exit 0
// on 200, else 1. The distroless image has no shell or curl, so this is what a container health check runs.
func runHealthCheck(args []string) int {
	url := "http://localhost:3100/ready"
	urlFlag := regexp.MustCompile(`^-+health\.url[=:]?(.*)$`)
	for i, arg := range args {
		if m := urlFlag.FindStringSubmatch(arg); m != nil {
			if m[1] != "" {
				url = m[1]
			} else if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				url = args[i+1]
			}
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Health check failed: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		fmt.Println("Loki is healthy")
		return 0
	}
	fmt.Fprintf(os.Stderr, "Loki is unhealthy: status code %d\n", resp.StatusCode)
	return 1
}

// moduleDirectory is a directory a Loki module creates as it is initialised, in the order the stand-in
// creates them (the first failure ends the start, as in Loki).
type moduleDirectory struct {
	module string
	path   string
	mode   os.FileMode
	wrap   func(path string, err error) error
}

func moduleDirectories(cfg *settings) []moduleDirectory {
	var dirs []moduleDirectory
	// pkg/ruler/rulestore/local: the local rule store's directory. Loki 3.6+ in Docker with an unwritable
	// /loki fails first here: "mkdir /loki/rules: permission denied / error initialising module: ruler-storage".
	if cfg.rulesDirectory != "" {
		dirs = append(dirs, moduleDirectory{module: "ruler-storage", path: cfg.rulesDirectory, mode: 0o777})
	}
	// pkg/ingester/ingester.go New: os.MkdirAll(cfg.WAL.Dir, 0o750), wrapped "creating WAL folder at %q: %w".
	if cfg.walEnabled && cfg.walDirectory != "" {
		dirs = append(dirs, moduleDirectory{module: "ingester", path: cfg.walDirectory, mode: 0o750, wrap: func(path string, err error) error {
			abs := path
			if !strings.HasPrefix(abs, "/") {
				if wd, werr := os.Getwd(); werr == nil {
					abs = strings.TrimSuffix(wd, "/") + "/" + path
				}
			}
			return fmt.Errorf("creating WAL folder at %q: %w", abs, err)
		}})
	}
	// pkg/storage/stores/shipper/indexshipper: the TSDB shipper's active index and cache directories.
	if cfg.usesTSDB() {
		for _, path := range []string{cfg.tsdbActiveDirectory, cfg.tsdbCacheDirectory} {
			if path != "" {
				dirs = append(dirs, moduleDirectory{module: "store", path: path, mode: 0o777})
			}
		}
	}
	// pkg/storage/chunk/client/local/fs_object_client.go: util.EnsureDirectory(cfg.Directory).
	if cfg.usesFilesystem() && cfg.chunksDirectory != "" {
		dirs = append(dirs, moduleDirectory{module: "store", path: cfg.chunksDirectory, mode: 0o777})
	}
	// pkg/compactor/compactor.go init: chunk_util.EnsureDirectory(cfg.WorkingDirectory).
	if cfg.compactorDirectory != "" {
		dirs = append(dirs, moduleDirectory{module: "compactor", path: cfg.compactorDirectory, mode: 0o777})
	}
	return dirs
}

// fatal reports a failed module the way pkg/util/log/log.go CheckFatal does: the error (with its stack, in
// Loki) on stderr, then msg="error running loki", exit 1.
func fatal(logger *logger, err error, module string) int {
	text := fmt.Sprintf("%v\nerror initialising module: %s", err, module)
	fmt.Fprintln(os.Stderr, text)
	logger.log(levelError, "msg", "error running loki", "err", text)
	return 1
}

func serve(cfg *settings, logger *logger) int {
	// The server module comes first (dskit server.New): both listeners, or a bind error.
	httpListener, err := net.Listen("tcp", net.JoinHostPort(cfg.httpAddress, strconv.Itoa(cfg.httpPort)))
	if err != nil {
		return fatal(logger, err, "server")
	}
	grpcListener, err := net.Listen("tcp", net.JoinHostPort(cfg.grpcAddress, strconv.Itoa(cfg.grpcPort)))
	if err != nil {
		return fatal(logger, err, "server")
	}
	// The stand-in has no gRPC API: it holds the port (as Loki does) and closes every connection.
	go func() {
		for {
			conn, err := grpcListener.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()

	for _, dir := range moduleDirectories(cfg) {
		if err := os.MkdirAll(dir.path, dir.mode); err != nil {
			if dir.wrap != nil {
				err = dir.wrap(dir.path, err)
			}
			return fatal(logger, err, dir.module)
		}
	}

	api := newAPI(cfg, logger, time.Now())
	server := &http.Server{Handler: api, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(httpListener) }()
	logger.log(levelInfo, "msg", "server listening on addresses", "http", httpListener.Addr().String(), "grpc", grpcListener.Addr().String())
	logger.log(levelInfo, "msg", "Loki started", "startup_time", "0s")

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-signals:
		// dskit signals handler: "=== received SIGINT/SIGTERM ===\n*** exiting", then a clean stop (exit 0).
		logger.log(levelInfo, "msg", "=== received SIGINT/SIGTERM ===\n*** exiting")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
		grpcListener.Close()
		return 0
	case err := <-served:
		return fatal(logger, err, "server")
	}
}
