package meta

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTenancyChangeVersion: every tenancy change moves the counter, in the
// same transaction (a rolled-back change does not), and other writes do not.
func TestTenancyChangeVersion(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db, other := openPair(t, b)
		last := int64(-1)
		step := func(what string, want bool, fn func() error) {
			t.Helper()
			if err := fn(); err != nil && want {
				t.Fatalf("%s: %v", what, err)
			}
			v, err := other.ChangeVersion(ctx, TopicTenancy)
			if err != nil {
				t.Fatal(err)
			}
			if moved := v != last; last >= 0 && moved != want {
				t.Fatalf("%s: version %d -> %d, want moved=%v", what, last, v, want)
			}
			last = v
		}
		var env Environment
		step("start", false, func() error { return nil })
		step("create team", true, func() error { _, err := db.CreateTeam(ctx, "T", "t"); return err })
		step("create env", true, func() error { env = seedEnv(t, db, "e"); return nil })
		step("setting", false, func() error { return db.SetSetting(ctx, "x", "y") })
		step("dataset settings", false, func() error {
			return db.PutDatasetSettings(ctx, DatasetSettings{EnvID: env.ID, Slug: "d"})
		})
		step("create key", true, func() error {
			_, err := db.CreateAPIKey(ctx, APIKey{ID: "k", EnvID: env.ID, Kind: "api", SecretHash: []byte{1}})
			return err
		})
		step("duplicate key", false, func() error {
			_, err := db.CreateAPIKey(ctx, APIKey{ID: "k", EnvID: env.ID, Kind: "api", SecretHash: []byte{2}})
			return err
		})
		yes := true
		step("disable key", true, func() error { _, err := db.UpdateAPIKey(ctx, "k", APIKeyUpdate{Disabled: &yes}); return err })
		step("put AWS", true, func() error { _, err := db.PutAWSCredential(ctx, env.ID, "AKIA1", "s"); return err })
		step("delete AWS", true, func() error { return db.DeleteAWSCredential(ctx, "AKIA1") })
		step("delete missing key", false, func() error { return db.DeleteAPIKey(ctx, "nope") })
		step("delete key", true, func() error { return db.DeleteAPIKey(ctx, "k") })
		step("update env", true, func() error { _, err := db.UpdateEnvironment(ctx, env.ID, EnvironmentUpdate{}); return err })
		step("delete env", true, func() error { return db.DeleteEnvironment(ctx, env.ID) })
	})
}

func TestMasterKeyForms(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, masterKeyLen)
	for i := range key {
		key[i] = byte(i * 7)
	}
	dir := t.TempDir()
	hexFile := filepath.Join(dir, "hex.key")
	b64File := filepath.Join(dir, "b64.key")
	if err := os.WriteFile(hexFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b64File, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	forms := map[string]string{
		"base64":      base64.StdEncoding.EncodeToString(key),
		"raw base64":  base64.RawStdEncoding.EncodeToString(key),
		"url base64":  base64.URLEncoding.EncodeToString(key),
		"hex file":    hexFile,
		"base64 file": b64File,
	}
	eachBackend(t, func(t *testing.T, b *backend) {
		var sealed []byte
		for name, v := range forms {
			opts := b.opts
			opts.MasterKey = v
			db, err := OpenWith(ctx, opts)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if sealed == nil {
				env := seedEnv(t, db, "e")
				if _, err := db.PutAWSCredential(ctx, env.ID, "AKIA1", "secret"); err != nil {
					t.Fatal(err)
				}
			}
			c, err := db.AWSCredential(ctx, "AKIA1")
			if err != nil || c.Secret != "secret" {
				t.Fatalf("%s: AWSCredential = %+v, %v", name, c, err)
			}
			sealed = []byte{1}
			_ = db.Close()
		}
		if b.name == "duckdb" {
			if _, err := os.Stat(filepath.Join(b.opts.DataDir, KeyFile)); err == nil {
				t.Error("a configured master key still created meta.key")
			}
		}
		for name, v := range map[string]string{
			"short":        base64.StdEncoding.EncodeToString(key[:16]),
			"missing file": filepath.Join(dir, "nope.key"),
		} {
			opts := b.opts
			opts.MasterKey = v
			if _, err := OpenWith(ctx, opts); err == nil || !strings.Contains(err.Error(), "master key") {
				t.Errorf("%s: err = %v", name, err)
			}
		}
	})
}

// TestMasterKeyMismatchWithoutSecrets: nodes configured with different keys
// are refused even before any secret is stored, or they would seal with
// different keys.
func TestMasterKeyMismatchWithoutSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		first := b.opts
		first.MasterKey = base64.StdEncoding.EncodeToString(make([]byte, masterKeyLen))
		db, err := OpenWith(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		second := b.opts
		second.MasterKey = testMasterKey
		if _, err := OpenWith(ctx, second); err == nil || !strings.Contains(err.Error(), "same master key") {
			t.Fatalf("second key: err = %v", err)
		}
	})
}

// TestPostgresConcurrentStart: nodes starting at once on an empty database
// migrate it one at a time and all open.
func TestPostgresConcurrentStart(t *testing.T) {
	if !slices.Contains(testBackends(), "postgres") {
		t.Skip("WAGGLE_TEST_META leaves PostgreSQL out")
	}
	b := newBackend(t, "postgres")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := OpenWith(context.Background(), b.opts)
			if err != nil {
				t.Error(err)
				return
			}
			_ = db.Close()
		}()
	}
	wg.Wait()
}

func TestOpenWithUnknownURL(t *testing.T) {
	_, err := OpenWith(context.Background(), Options{URL: "mysql://u:hunter2@h/db", DataDir: t.TempDir()})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
	_, err = OpenWith(context.Background(), Options{URL: "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2", MasterKey: testMasterKey})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("unreachable PostgreSQL: err = %v", err)
	}
}

// TestChangesNotified: PostgreSQL pushes the topic of a committed change to
// listeners on other connections, and nothing for a rolled-back one; DuckDB
// has no listeners.
func TestChangesNotified(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		db, other := openPair(t, b)
		ch := other.Changes(ctx)
		if b.name == "duckdb" {
			if ch != nil {
				t.Fatal("DuckDB Changes is not nil")
			}
			return
		}
		recv := func() (string, bool) {
			select {
			case topic, ok := <-ch:
				return topic, ok
			case <-time.After(5 * time.Second):
				t.Fatal("no notification within 5s")
				return "", false
			}
		}
		if topic, _ := recv(); topic != "" {
			t.Fatalf("first delivery = %q, want \"\" (connected)", topic)
		}
		rollback := errors.New("rollback")
		if err := db.Tx(ctx, func(tx *DB) error {
			if _, err := tx.CreateTeam(ctx, "R", "r"); err != nil {
				return err
			}
			return rollback
		}); !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		if _, err := db.CreateTeam(ctx, "T", "t"); err != nil {
			t.Fatal(err)
		}
		if topic, _ := recv(); topic != TopicTenancy {
			t.Fatalf("delivery = %q, want %q (and nothing for the rolled-back change)", topic, TopicTenancy)
		}
		cancel()
		for range ch {
		}
	})
}

// TestMasterKeyCheckAddedToOldDatabase: a database from before the check
// value (secrets, no check row) is checked against its secrets instead.
func TestMasterKeyCheckAddedToOldDatabase(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db, err := OpenWith(ctx, b.opts)
		if err != nil {
			t.Fatal(err)
		}
		env := seedEnv(t, db, "e")
		if _, err := db.PutAWSCredential(ctx, env.ID, "AKIAOLD", "old-secret"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.q.ExecContext(ctx, `DELETE FROM settings WHERE name = $1`, masterKeyCheckSetting); err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		wrong := b.opts
		wrong.MasterKey = base64.StdEncoding.EncodeToString(make([]byte, masterKeyLen))
		if _, err := OpenWith(ctx, wrong); err == nil || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("wrong key on an old database: err = %v", err)
		}
		db = b.open(t)
		if v, ok, err := db.Setting(ctx, masterKeyCheckSetting); err != nil || !ok || v == "" {
			t.Fatalf("check value not recorded: %q %v %v", v, ok, err)
		}
		if c, err := db.AWSCredential(ctx, "AKIAOLD"); err != nil || c.Secret != "old-secret" {
			t.Fatalf("AWSCredential = %+v, %v", c, err)
		}
	})
}
