package meta

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestFreshDatabaseSurvivesACrash copies a freshly migrated embedded
// metadata directory while the database is still open, as a crash leaves it
// (database file plus write-ahead log), and opens the copy. DuckDB cannot
// replay some schema changes from its log, so migrations must not leave
// them there.
func TestFreshDatabaseSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	crashed := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, e.Name()), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	again, err := Open(ctx, crashed)
	if err != nil {
		t.Fatalf("the metadata left by a crash right after the first start does not open: %v", err)
	}
	defer again.Close()
	v, err := again.SchemaVersion(ctx)
	if err != nil || v != migrations[len(migrations)-1].version {
		t.Fatalf("schema version after the crash = %d, %v; want %d", v, err, migrations[len(migrations)-1].version)
	}
}
