package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/waggle-hq/waggle/internal/meta/pgtest"
	"github.com/waggle-hq/waggle/internal/store/clickhouse/chtest"
)

// starterTB lets the test starters (chtest, pgtest) run outside a test:
// Skip and Fatal become errors, Cleanup runs at the harness's end.
type starterTB struct {
	testing.TB
	cleanups []func()
}

type starterAbort struct{ msg string }

func (t *starterTB) Helper()           {}
func (t *starterTB) Skip(args ...any)  { panic(starterAbort{fmt.Sprint(args...)}) }
func (t *starterTB) Fatal(args ...any) { panic(starterAbort{fmt.Sprint(args...)}) }
func (t *starterTB) Fatalf(f string, args ...any) {
	panic(starterAbort{fmt.Sprintf(f, args...)})
}
func (t *starterTB) Logf(string, ...any) {}
func (t *starterTB) Cleanup(f func())    { t.cleanups = append(t.cleanups, f) }
func (t *starterTB) TempDir() string {
	d, err := os.MkdirTemp("", "waggle-bench-ch-")
	if err != nil {
		panic(starterAbort{err.Error()})
	}
	t.cleanups = append(t.cleanups, func() { os.RemoveAll(d) })
	return d
}

func (t *starterTB) close() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// guard turns a starter's Skip or Fatal into an error.
func guard(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if a, ok := r.(starterAbort); ok {
				err = fmt.Errorf("%s", a.msg)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// clickHouse is the ClickHouse server the ClickHouse runs use: one the
// harness started (-clickhouse auto, chtest) or one given by URL.
type clickHouse struct {
	dsn   string // clickhouse://host:port/db
	http  string // host:port of the HTTP interface, "" if unknown
	dir   string // data directory of a server we started
	seq   int
	close func()
}

// startClickHouse starts a throwaway ClickHouse server with chtest.
func startClickHouse() (*clickHouse, error) {
	tb := &starterTB{}
	var srv *chtest.Server
	if err := guard(func() { srv = chtest.Start(tb) }); err != nil {
		tb.close()
		return nil, fmt.Errorf("start ClickHouse: %w", err)
	}
	return &clickHouse{dsn: srv.DSN("waggle_bench", ""), http: srv.HTTPAddr, dir: srv.Dir, close: tb.close}, nil
}

// freshDSN is the store URL of a database no earlier run used (waggle
// creates it).
func (c *clickHouse) freshDSN(tag string) string {
	c.seq++
	u, err := url.Parse(c.dsn)
	if err != nil {
		return c.dsn
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "waggle"
	}
	u.Path = "/" + fmt.Sprintf("%s_%s_%d_%d", db, tag, os.Getpid(), c.seq)
	return u.String()
}

// cpu is the CPU time of the server we started (0 for an external one).
func (c *clickHouse) cpu() time.Duration {
	if c.dir == "" {
		return 0
	}
	pid := pidWithArg(c.dir)
	if pid == 0 {
		return 0
	}
	t, _ := procCPU(pid)
	return t
}

// threadsCPU is the CPU time of the live threads of the server we started,
// in nanoseconds (finer than cpu's clock ticks; for single queries).
func (c *clickHouse) threadsCPU() time.Duration {
	if c.dir == "" {
		return 0
	}
	if pid := pidWithArg(c.dir); pid != 0 {
		return threadsCPU(pid)
	}
	return 0
}

// pidWithArg finds a process whose command line mentions s.
func pidWithArg(s string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(raw), s) {
			return pid
		}
	}
	return 0
}

// startPostgres starts a throwaway PostgreSQL (pgtest) for the metadata of
// several nodes; it returns a database URL.
func startPostgres() (string, func(), error) {
	pg, err := pgtest.Start()
	if err != nil {
		return "", nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	return pg.URL, func() { pg.Stop() }, nil
}

var pgSeq int

// freshPGDatabase creates an empty database on the server of base and
// returns its URL.
func freshPGDatabase(ctx context.Context, base string) (string, error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer db.Close()
	pgSeq++
	name := fmt.Sprintf("waggle_bench_%d_%d", os.Getpid(), pgSeq)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("PostgreSQL: create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// masterKey is a random WAGGLE_MASTER_KEY (nodes sharing metadata need one).
func masterKey() string {
	var k [32]byte
	_, _ = rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}

// clickhouseVersion is the installed server's version, from clickhouse-client.
func clickhouseVersion() string {
	out, err := exec.Command("clickhouse-client", "--version").Output()
	if err != nil {
		return "?"
	}
	v := strings.TrimSuffix(strings.TrimSpace(string(out)), ".")
	return strings.Replace(v, "ClickHouse client version", "ClickHouse", 1)
}
