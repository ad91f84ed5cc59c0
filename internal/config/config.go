// Package config holds `waggle serve`'s configuration: every setting is a
// flag whose default comes from the matching WAGGLE_* environment variable, so
// either works and a flag wins. Every listener defaults to loopback.
package config

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the server's configuration.
type Config struct {
	// DataDir holds the embedded store and the metadata.
	DataDir string
	// HTTPAddr serves the UI and every HTTP API.
	HTTPAddr string
	// OTLPGRPCAddr and OTLPHTTPAddr are OTLP's own ports.
	OTLPGRPCAddr string
	OTLPHTTPAddr string
	// XRayAddr is the X-Ray daemon address (UDP and TCP).
	XRayAddr string
	// MemoryLimit bounds the process's memory in bytes; it is split between
	// the Go heap, the ingest pipeline and the store engine.
	MemoryLimit int64
	// RetentionInterval is how often retention is enforced.
	RetentionInterval time.Duration
	// LeaseTTL is how long a node's leases on singleton work (retention,
	// triggers) outlive it: with shared metadata another node takes the work
	// over at most this long after the holder died. Zero means one minute.
	LeaseTTL time.Duration
	// TriggerTick is how often the trigger engine looks for due triggers
	// (WAGGLE_TRIGGER_TICK, default 10s). A trigger is still evaluated once
	// per interval of its frequency; a shorter tick only lowers the delay
	// after an interval starts (tests use 1s).
	TriggerTick time.Duration
	// APIKey, if set, becomes an all-permission key of the default environment.
	APIKey string
	// AWSAccessKeyID and AWSSecretAccessKey, if set, become the default
	// environment's SigV4 credential.
	AWSAccessKeyID     string
	AWSSecretAccessKey string
	// Store selects the event store: empty for the embedded DuckDB store in
	// DataDir, or a clickhouse:// URL (see internal/store/clickhouse).
	Store string
	// Meta selects the metadata database: empty for the embedded DuckDB
	// file in DataDir, or a postgres:// URL shared by several nodes.
	Meta string
	// MasterKey seals recoverable secrets (AWS secret access keys): 32 bytes
	// in base64, or the path of a file holding them. Empty keeps meta.key in
	// DataDir; PostgreSQL metadata requires it, the same on every node.
	MasterKey string
	// DebugAddr, when set, serves Go's pprof and expvar endpoints there.
	DebugAddr string
	// SMTP is the mail server of email recipients (triggers):
	// WAGGLE_SMTP_ADDR (host:port; empty turns email off), WAGGLE_SMTP_FROM,
	// and optional WAGGLE_SMTP_USERNAME / WAGGLE_SMTP_PASSWORD (PLAIN, over
	// TLS or to localhost) and WAGGLE_SMTP_TLS=implicit (port 465).
	SMTPAddr, SMTPFrom, SMTPUsername, SMTPPassword string
	SMTPImplicitTLS                                bool
	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	LogLevel  string
	LogFormat string
}

// DefaultMemoryLimit is the memory bound when WAGGLE_MEMORY_LIMIT is unset.
const DefaultMemoryLimit = 1 << 30

// Parse reads the configuration from args (without the program and command
// names) and the environment given by getenv.
func Parse(name string, args []string, getenv func(string) string) (*Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c := &Config{}
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Store, "store", env("WAGGLE_STORE", ""), "event store: empty for embedded DuckDB in the data directory, or clickhouse://host:9000/db[?cluster=name] (WAGGLE_STORE)")
	fs.StringVar(&c.DataDir, "data-dir", env("WAGGLE_DATA_DIR", "waggle-data"), "directory of the embedded store (WAGGLE_DATA_DIR)")
	fs.StringVar(&c.HTTPAddr, "http-addr", env("WAGGLE_HTTP_ADDR", "127.0.0.1:8080"), "address of the UI and HTTP APIs (WAGGLE_HTTP_ADDR)")
	fs.StringVar(&c.OTLPGRPCAddr, "otlp-grpc-addr", env("WAGGLE_OTLP_GRPC_ADDR", "127.0.0.1:4317"), "OTLP/gRPC address (WAGGLE_OTLP_GRPC_ADDR)")
	fs.StringVar(&c.OTLPHTTPAddr, "otlp-http-addr", env("WAGGLE_OTLP_HTTP_ADDR", "127.0.0.1:4318"), "OTLP/HTTP address (WAGGLE_OTLP_HTTP_ADDR)")
	fs.StringVar(&c.XRayAddr, "xray-addr", env("WAGGLE_XRAY_ADDR", "127.0.0.1:2000"), "X-Ray daemon address, UDP and TCP (WAGGLE_XRAY_ADDR)")
	fs.StringVar(&c.Meta, "meta", env("WAGGLE_META", ""), "metadata database: empty for the embedded DuckDB in the data dir, or postgres://user:pass@host/db (WAGGLE_META)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("WAGGLE_DEBUG_ADDR", ""), "address for pprof and expvar; empty turns them off (WAGGLE_DEBUG_ADDR)")
	mem := fs.String("memory-limit", env("WAGGLE_MEMORY_LIMIT", "1GiB"), "memory bound, e.g. 512MiB or 2GiB (WAGGLE_MEMORY_LIMIT)")
	retInterval := fs.String("retention-interval", env("WAGGLE_RETENTION_INTERVAL", "1h"), "how often retention windows are enforced (WAGGLE_RETENTION_INTERVAL)")
	leaseTTL := fs.String("lease-ttl", env("WAGGLE_LEASE_TTL", "1m"), "how long another node waits before taking over a dead node's singleton work, at least 1s (WAGGLE_LEASE_TTL)")
	triggerTick := fs.String("trigger-tick", env("WAGGLE_TRIGGER_TICK", "10s"), "how often due triggers are looked for (WAGGLE_TRIGGER_TICK)")
	fs.StringVar(&c.LogLevel, "log-level", env("WAGGLE_LOG_LEVEL", "info"), "debug, info, warn or error (WAGGLE_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("WAGGLE_LOG_FORMAT", "text"), "text or json (WAGGLE_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.RetentionInterval, err = time.ParseDuration(*retInterval); err != nil || c.RetentionInterval <= 0 {
		return nil, fmt.Errorf("retention interval %q: want a positive duration such as 1h", *retInterval)
	}
	if c.LeaseTTL, err = time.ParseDuration(*leaseTTL); err != nil || c.LeaseTTL < time.Second {
		return nil, fmt.Errorf("lease TTL %q: want a duration of at least 1s such as 1m", *leaseTTL)
	}
	if c.TriggerTick, err = time.ParseDuration(*triggerTick); err != nil || c.TriggerTick < 100*time.Millisecond {
		return nil, fmt.Errorf("trigger tick %q: want a duration of at least 100ms such as 10s", *triggerTick)
	}
	if c.MemoryLimit, err = ParseSize(*mem); err != nil {
		return nil, fmt.Errorf("memory limit: %w", err)
	}
	if c.MemoryLimit < 64<<20 {
		return nil, fmt.Errorf("memory limit %s is below the minimum of 64MiB", *mem)
	}
	c.MasterKey = getenv("WAGGLE_MASTER_KEY")
	c.APIKey = getenv("WAGGLE_API_KEY")
	c.AWSAccessKeyID = getenv("WAGGLE_AWS_ACCESS_KEY_ID")
	c.AWSSecretAccessKey = getenv("WAGGLE_AWS_SECRET_ACCESS_KEY")
	c.SMTPAddr, c.SMTPFrom = getenv("WAGGLE_SMTP_ADDR"), env("WAGGLE_SMTP_FROM", "waggle@localhost")
	c.SMTPUsername, c.SMTPPassword = getenv("WAGGLE_SMTP_USERNAME"), getenv("WAGGLE_SMTP_PASSWORD")
	c.SMTPImplicitTLS = getenv("WAGGLE_SMTP_TLS") == "implicit"
	if (c.AWSAccessKeyID == "") != (c.AWSSecretAccessKey == "") {
		return nil, fmt.Errorf("WAGGLE_AWS_ACCESS_KEY_ID and WAGGLE_AWS_SECRET_ACCESS_KEY must be set together")
	}
	return c, nil
}

// FromEnv parses args with the process environment.
func FromEnv(name string, args []string) (*Config, error) { return Parse(name, args, os.Getenv) }

// ParseSize parses a byte size: a plain number of bytes, or a number with a
// unit KB/MB/GB (powers of 1000) or KiB/MiB/GiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(f * float64(mult)), nil
}
