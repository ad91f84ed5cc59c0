package meta

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// seedEnv creates a team and an environment.
func seedEnv(t testing.TB, db *DB, slug string) Environment {
	t.Helper()
	ctx := context.Background()
	team, err := db.TeamBySlug(ctx, "t")
	if errors.Is(err, ErrNotFound) {
		team, err = db.CreateTeam(ctx, "T", "t")
	}
	if err != nil {
		t.Fatal(err)
	}
	env, err := db.CreateEnvironment(ctx, Environment{TeamID: team.ID, Name: slug, Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestOpenMigratesAndReopens(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db, err := OpenWith(ctx, b.opts)
		if err != nil {
			t.Fatal(err)
		}
		if db.Backend() != b.name {
			t.Errorf("Backend() = %q, want %q", db.Backend(), b.name)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != migrations[len(migrations)-1].version {
			t.Fatalf("SchemaVersion = %d, %v", v, err)
		}
		if _, err := db.CreateTeam(ctx, "Default", "default"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if b.name == "duckdb" {
			fi, err := os.Stat(filepath.Join(b.opts.DataDir, KeyFile))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
			}
		}
		db = b.open(t)
		teams, err := db.Teams(ctx)
		if err != nil || len(teams) != 1 || teams[0].Slug != "default" {
			t.Fatalf("Teams = %+v, %v", teams, err)
		}
	})
}

func TestMigrationVersionsIncrease(t *testing.T) {
	for i := 1; i < len(migrations); i++ {
		if migrations[i].version <= migrations[i-1].version {
			t.Fatalf("migration %d (%s) does not follow %d", migrations[i].version, migrations[i].name, migrations[i-1].version)
		}
	}
}

func TestTeamsAndEnvironments(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		team, err := db.CreateTeam(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateTeam(ctx, "Acme 2", "acme"); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate team: err = %v, want ErrConflict", err)
		}
		prod, err := db.CreateEnvironment(ctx, Environment{TeamID: team.ID, Name: "Prod", Slug: "prod", Color: "red"})
		if err != nil {
			t.Fatal(err)
		}
		if prod.ID == 0 || prod.CreatedAt.IsZero() || prod.Color != "red" {
			t.Fatalf("created env = %+v", prod)
		}
		if _, err := db.CreateEnvironment(ctx, Environment{TeamID: team.ID, Name: "Prod", Slug: "prod"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate env: err = %v, want ErrConflict", err)
		}
		dev, err := db.CreateEnvironment(ctx, Environment{TeamID: team.ID, Name: "Dev", Slug: "dev"})
		if err != nil {
			t.Fatal(err)
		}
		desc, protected := "production", true
		up, err := db.UpdateEnvironment(ctx, prod.ID, EnvironmentUpdate{Description: &desc, DeleteProtected: &protected})
		if err != nil {
			t.Fatal(err)
		}
		if up.Description != desc || !up.DeleteProtected || up.Name != "Prod" {
			t.Fatalf("updated env = %+v", up)
		}
		got, err := db.EnvironmentBySlug(ctx, team.ID, "prod")
		if err != nil || got != up {
			t.Fatalf("EnvironmentBySlug = %+v, %v; want %+v", got, err, up)
		}
		envs, err := db.Environments(ctx, team.ID)
		if err != nil || len(envs) != 2 {
			t.Fatalf("Environments = %+v, %v", envs, err)
		}
		if _, err := db.CreateAPIKey(ctx, APIKey{ID: "k1", EnvID: dev.ID, Kind: "api", Name: "k", SecretHash: []byte{1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PutAWSCredential(ctx, dev.ID, "AKIA1", "s"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteEnvironment(ctx, dev.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Environment(ctx, dev.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted env: err = %v", err)
		}
		if _, err := db.APIKey(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("key of deleted env: err = %v", err)
		}
		if _, err := db.AWSCredential(ctx, "AKIA1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("AWS credential of deleted env: err = %v", err)
		}
		if err := db.DeleteEnvironment(ctx, dev.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: err = %v", err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		env := seedEnv(t, db, "a")
		other := seedEnv(t, db, "b")
		hash := bytes.Repeat([]byte{7}, 32)
		k, err := db.CreateAPIKey(ctx, APIKey{ID: "k1", EnvID: env.ID, Kind: "api", Name: "one",
			SecretHash: hash, Permissions: []string{"b", "a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(k.Permissions, []string{"a", "b"}) {
			t.Errorf("permissions = %v", k.Permissions)
		}
		if _, err := db.CreateAPIKey(ctx, APIKey{ID: "k2", EnvID: env.ID, Kind: "api", SecretHash: hash}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate hash: err = %v", err)
		}
		if _, err := db.CreateAPIKey(ctx, APIKey{ID: "k3", EnvID: other.ID, Kind: "api", SecretHash: []byte{3}}); err != nil {
			t.Fatal(err)
		}
		byHash, err := db.APIKeyByHash(ctx, hash)
		if err != nil || byHash.ID != "k1" {
			t.Fatalf("APIKeyByHash = %+v, %v", byHash, err)
		}
		keys, err := db.APIKeys(ctx, env.ID)
		if err != nil || len(keys) != 1 || keys[0].ID != "k1" {
			t.Fatalf("APIKeys = %+v, %v", keys, err)
		}
		disabled, perms := true, []string{"x"}
		up, err := db.UpdateAPIKey(ctx, "k1", APIKeyUpdate{Disabled: &disabled, Permissions: &perms})
		if err != nil || !up.Disabled || up.Name != "one" || !slices.Equal(up.Permissions, perms) {
			t.Fatalf("UpdateAPIKey = %+v, %v", up, err)
		}
		if _, err := db.UpdateAPIKey(ctx, "nope", APIKeyUpdate{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update missing: err = %v", err)
		}
		if err := db.DeleteAPIKey(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAPIKey(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: err = %v", err)
		}
		all, err := db.AllAPIKeys(ctx)
		if err != nil || len(all) != 1 || all[0].ID != "k3" {
			t.Fatalf("AllAPIKeys = %+v, %v", all, err)
		}
	})
}

func TestAWSCredentialSealedAtRest(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db, err := OpenWith(ctx, b.opts)
		if err != nil {
			t.Fatal(err)
		}
		env := seedEnv(t, db, "a")
		other := seedEnv(t, db, "b")
		const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		if _, err := db.PutAWSCredential(ctx, env.ID, "AKIAEXAMPLE", secret); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PutAWSCredential(ctx, other.ID, "AKIAEXAMPLE", "x"); !errors.Is(err, ErrConflict) {
			t.Fatalf("id of another env: err = %v", err)
		}
		c, err := db.AWSCredential(ctx, "AKIAEXAMPLE")
		if err != nil || c.Secret != secret || c.EnvID != env.ID {
			t.Fatalf("AWSCredential = %+v, %v", c, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw := b.atRest(t)
		if !holds(raw, []byte("AKIAEXAMPLE")) {
			t.Fatal("access key id not found at rest: the plain-text check below would prove nothing")
		}
		if holds(raw, []byte(secret)) || holds(raw, []byte("CYEXAMPLEKEY")) {
			t.Fatal("AWS secret found in plain text at rest")
		}

		// Reopened with the same master key it decrypts; the rotated secret wins.
		db = b.open(t)
		if _, err := db.PutAWSCredential(ctx, env.ID, "AKIAEXAMPLE", "rotated"); err != nil {
			t.Fatal(err)
		}
		all, err := db.AllAWSCredentials(ctx)
		if err != nil || len(all) != 1 || all[0].Secret != "rotated" {
			t.Fatalf("AllAWSCredentials = %+v, %v", all, err)
		}
		_ = db.Close()

		// Another master key cannot open the sealed secrets: refuse to open.
		wrong := b.opts
		wrong.MasterKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, masterKeyLen))
		if _, err := OpenWith(ctx, wrong); err == nil || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("Open with another master key: err = %v", err)
		}
		if b.name == "postgres" {
			none := b.opts
			none.MasterKey = ""
			if _, err := OpenWith(ctx, none); err == nil || !strings.Contains(err.Error(), "WAGGLE_MASTER_KEY") {
				t.Fatalf("Open PostgreSQL without a master key: err = %v", err)
			}
			return
		}
		// Without the key file the sealed secrets are unreadable: refuse to open.
		dir := b.opts.DataDir
		if err := os.Remove(filepath.Join(dir, KeyFile)); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, dir); err == nil {
			t.Fatal("Open without the master key file succeeded")
		}
		if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
			t.Fatal("Open without the master key left a new key file behind")
		}
	})
}

func TestSealRejectsTampering(t *testing.T) {
	box, err := newSecretBox(bytes.Repeat([]byte{1}, masterKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.seal([]byte("secret"), []byte("id1"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := box.open(sealed, []byte("id1")); err != nil || string(pt) != "secret" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	tests := map[string]struct {
		sealed []byte
		aad    string
	}{
		"other row":   {sealed, "id2"},
		"flipped":     {append(slices.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1), "id1"},
		"truncated":   {sealed[:5], "id1"},
		"empty":       {nil, "id1"},
		"bad version": {append([]byte{9}, sealed[1:]...), "id1"},
	}
	for name, tc := range tests {
		if _, err := box.open(tc.sealed, []byte(tc.aad)); !errors.Is(err, errUnseal) {
			t.Errorf("%s: err = %v, want errUnseal", name, err)
		}
	}
}

func TestSettings(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		if _, ok, err := db.Setting(ctx, "x"); ok || err != nil {
			t.Fatalf("unset setting: ok=%v err=%v", ok, err)
		}
		for _, v := range []string{"1", "2"} {
			if err := db.SetSetting(ctx, "x", v); err != nil {
				t.Fatal(err)
			}
		}
		if v, ok, err := db.Setting(ctx, "x"); v != "2" || !ok || err != nil {
			t.Fatalf("Setting = %q %v %v", v, ok, err)
		}
		s, err := db.DatasetSettings(ctx, 1, "ds")
		if err != nil || s.DeleteProtected {
			t.Fatalf("default dataset settings = %+v, %v", s, err)
		}
		for _, p := range []bool{true, false, true} {
			if err := db.PutDatasetSettings(ctx, DatasetSettings{EnvID: 1, Slug: "ds", DeleteProtected: p, ExpandJSONDepth: 3}); err != nil {
				t.Fatal(err)
			}
		}
		if s, err := db.DatasetSettings(ctx, 1, "ds"); err != nil || !s.DeleteProtected || s.ExpandJSONDepth != 3 {
			t.Fatalf("DatasetSettings = %+v, %v", s, err)
		}
		if s, err := db.DatasetSettings(ctx, 2, "ds"); err != nil || s.DeleteProtected {
			t.Fatalf("other env's settings = %+v, %v", s, err)
		}
		if err := db.DeleteDatasetSettings(ctx, 1, "ds"); err != nil {
			t.Fatal(err)
		}
		if s, err := db.DatasetSettings(ctx, 1, "ds"); err != nil || s.DeleteProtected {
			t.Fatalf("deleted settings = %+v, %v", s, err)
		}
	})
}

func TestTxRollsBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *DB) error {
			if _, err := tx.CreateTeam(ctx, "A", "a"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx err = %v", err)
		}
		if _, err := db.TeamBySlug(ctx, "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rolled-back team visible: %v", err)
		}
	})
}
