package meta

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// openTest opens a fresh database in a temporary directory.
func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, dir
}

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
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
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
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	teams, err := db.Teams(ctx)
	if err != nil || len(teams) != 1 || teams[0].Slug != "default" {
		t.Fatalf("Teams = %+v, %v", teams, err)
	}
}

func TestTeamsAndEnvironments(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
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
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
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
}

func TestAWSCredentialSealedAtRest(t *testing.T) {
	ctx := context.Background()
	db, dir := openTest(t)
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
	raw, err := os.ReadFile(filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("AKIAEXAMPLE")) {
		t.Fatal("access key id not found in the database file: the plain-text check below would prove nothing")
	}
	if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte("CYEXAMPLEKEY")) {
		t.Fatal("AWS secret found in plain text in the database file")
	}
	if wal, err := os.ReadFile(filepath.Join(dir, DBFile+".wal")); err == nil && bytes.Contains(wal, []byte(secret)) {
		t.Fatal("AWS secret found in plain text in the WAL")
	}

	// Reopened with the same master key it decrypts; the rotated secret wins.
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutAWSCredential(ctx, env.ID, "AKIAEXAMPLE", "rotated"); err != nil {
		t.Fatal(err)
	}
	all, err := db.AllAWSCredentials(ctx)
	if err != nil || len(all) != 1 || all[0].Secret != "rotated" {
		t.Fatalf("AllAWSCredentials = %+v, %v", all, err)
	}
	_ = db.Close()

	// Without the key file the sealed secrets are unreadable: refuse to open.
	if err := os.Remove(filepath.Join(dir, KeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir); err == nil {
		t.Fatal("Open without the master key file succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		t.Fatal("Open without the master key left a new key file behind")
	}
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
	ctx := context.Background()
	db, _ := openTest(t)
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
}

func TestTxRollsBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
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
}
