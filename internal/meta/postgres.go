package meta

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens a PostgreSQL metadata database through pgx's
// database/sql driver, so every statement and repository method is the one
// the embedded DuckDB runs.
func openPostgres(ctx context.Context, opts Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("meta: postgres URL %s: %w", redactURL(opts.URL), err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "waggle"
	}
	// Timestamps are stored and read in UTC whatever the server's default.
	cfg.RuntimeParams["timezone"] = "UTC"
	sqlDB := stdlib.OpenDB(*cfg)
	// Metadata traffic is light: a handful of connections, recycled now and
	// then so a failover of the database is picked up.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(4)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db, err := open(ctx, sqlDB, postgresDialect{}, keySource{value: opts.MasterKey})
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("meta: postgres %s: %w", redactURL(opts.URL), err)
	}
	return db, nil
}

// redactURL hides a URL's password for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
