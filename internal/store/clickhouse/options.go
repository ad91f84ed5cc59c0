package clickhouse

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Options configure a Store.
type Options struct {
	// Addr is host:port of ClickHouse's native TCP interface (default port
	// 9000).
	Addr string
	// Database holds waggle's tables; it is created if missing.
	Database string
	// User and Password authenticate; empty means "default" without one.
	User, Password string
	// Cluster, when set, names a cluster of the server's remote_servers
	// configuration: events are kept in local tables on every shard of it
	// and read and written through Distributed tables (see the package
	// documentation). Schema changes are made on every shard directly, so
	// no ZooKeeper is needed.
	Cluster string
	// DialTimeout bounds connecting; zero means 5 s.
	DialTimeout time.Duration
	// MaxOpenConns bounds the connections to each server; zero means 8.
	MaxOpenConns int
	// RefreshInterval is how often the store checks in the background
	// whether other nodes changed the catalog; zero means one second. Reads
	// check anyway (see sync.go).
	RefreshInterval time.Duration
	// Logger receives the store's logs; nil means slog.Default().
	Logger *slog.Logger
}

// ParseDSN parses a store URL
//
//	clickhouse://[user[:password]@]host[:port]/database[?cluster=name]
//
// as WAGGLE_STORE and --store take it.
func ParseDSN(dsn string) (Options, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return Options{}, fmt.Errorf("clickhouse store URL: %w", err)
	}
	if u.Scheme != "clickhouse" {
		return Options{}, fmt.Errorf("clickhouse store URL %q: scheme is not clickhouse", dsn)
	}
	if u.Host == "" {
		return Options{}, errors.New("clickhouse store URL: no host")
	}
	o := Options{Addr: u.Host, Database: strings.Trim(u.Path, "/")}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		o.Addr = net.JoinHostPort(u.Hostname(), "9000")
	}
	if u.User != nil {
		o.User = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "cluster", "dial_timeout", "max_open_conns":
		default:
			return Options{}, fmt.Errorf("clickhouse store URL: unknown parameter %q", k)
		}
	}
	o.Cluster = q.Get("cluster")
	if v := q.Get("dial_timeout"); v != "" {
		if o.DialTimeout, err = time.ParseDuration(v); err != nil {
			return Options{}, fmt.Errorf("clickhouse store URL: dial_timeout: %w", err)
		}
	}
	if v := q.Get("max_open_conns"); v != "" {
		if _, err := fmt.Sscan(v, &o.MaxOpenConns); err != nil {
			return Options{}, fmt.Errorf("clickhouse store URL: max_open_conns: %w", err)
		}
	}
	return o, nil
}
