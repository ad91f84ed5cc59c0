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
	db, err := open(ctx, sqlDB, postgresDialect{cfg: cfg.Copy()}, keySource{value: opts.MasterKey})
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

// changesChannel is the PostgreSQL NOTIFY channel of change counters; the
// payload is the topic.
const changesChannel = "waggle_changes"

// notify queues a NOTIFY, which PostgreSQL delivers when the transaction
// commits (and drops if it rolls back).
func (postgresDialect) notify(ctx context.Context, q querier, topic string) error {
	_, err := q.ExecContext(ctx, `SELECT pg_notify($1, $2)`, changesChannel, topic)
	return err
}

// listen keeps one connection of its own LISTENing, reconnecting with
// backoff when it breaks. After every (re)connect it delivers "" (any topic
// may have changed meanwhile). A full channel drops notifications: listeners
// poll the counters, which coalesces them.
func (d postgresDialect) listen(ctx context.Context) <-chan string {
	ch := make(chan string, 16)
	send := func(topic string) {
		select {
		case ch <- topic:
		default:
		}
	}
	go func() {
		defer close(ch)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			conn, err := pgx.ConnectConfig(ctx, d.cfg.Copy())
			if err == nil {
				if _, err = conn.Exec(ctx, `LISTEN `+changesChannel); err == nil {
					backoff = 100 * time.Millisecond
					send("")
					for {
						n, werr := conn.WaitForNotification(ctx)
						if werr != nil {
							break
						}
						send(n.Payload)
					}
				}
				closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				_ = conn.Close(closeCtx)
				cancel()
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}()
	return ch
}
