package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/migrate"
	"github.com/waggle-hq/waggle/internal/store"
)

// The store migration commands (internal/migrate):
//
//	waggle export --data-dir DIR --out FILE          embedded store → file
//	waggle import --store clickhouse://… --in FILE   file → store
//	waggle migrate-store --from duckdb:DIR --to clickhouse://…

const migrateMemory = 512 << 20

// migrateCommon are the flags that choose the source's environments.
type migrateCommon struct {
	envs    string
	metaURL string
	dataDir string
}

func (c *migrateCommon) register(fs *flag.FlagSet) {
	fs.StringVar(&c.envs, "env", "", "environment ids to move, comma-separated; default every environment of the metadata database")
	fs.StringVar(&c.metaURL, "meta", os.Getenv("WAGGLE_META"), "metadata database listing the environments: empty for meta.duckdb in the data directory, or postgres://… (WAGGLE_META)")
}

// environments lists the environment ids to move.
func (c *migrateCommon) environments(ctx context.Context) ([]event.EnvID, error) {
	if c.envs != "" {
		var out []event.EnvID
		for _, f := range strings.Split(c.envs, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("--env %q: %w", c.envs, err)
			}
			out = append(out, event.EnvID(id))
		}
		return out, nil
	}
	if c.metaURL == "" && c.dataDir == "" {
		return nil, fmt.Errorf("--env is required when the source has no data directory or --meta")
	}
	db, err := meta.OpenWith(ctx, meta.Options{URL: c.metaURL, DataDir: c.dataDir, MasterKey: os.Getenv("WAGGLE_MASTER_KEY")})
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	defer db.Close()
	envs, err := db.AllEnvironments(ctx)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	out := make([]event.EnvID, len(envs))
	for i, e := range envs {
		out[i] = event.EnvID(e.ID)
	}
	return out, nil
}

func progress(w io.Writer, verb string) func(event.EnvID, string, int64) {
	return func(env event.EnvID, ds string, n int64) {
		fmt.Fprintf(w, "%s environment %d dataset %s: %d events\n", verb, env, ds, n)
	}
}

func quietLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// exportCmd is `waggle export`.
func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("waggle export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c migrateCommon
	fs.StringVar(&c.dataDir, "data-dir", os.Getenv("WAGGLE_DATA_DIR"), "data directory of the embedded store to export; the server must be stopped (WAGGLE_DATA_DIR)")
	from := fs.String("store", "", "export another store instead: duckdb:DIR or clickhouse://…")
	out := fs.String("out", "", "file to write (gzip-compressed JSON lines); - for standard output")
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("export: --out is required")
	}
	spec := *from
	if spec == "" {
		if c.dataDir == "" {
			return fmt.Errorf("export: --data-dir or --store is required")
		}
		spec = "duckdb:" + c.dataDir
	}
	envs, err := c.environments(ctx)
	if err != nil {
		return err
	}
	src, err := migrate.OpenStore(ctx, spec, migrateMemory, quietLogger(stderr))
	if err != nil {
		return err
	}
	defer src.Close()
	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		tmp := *out + ".partial"
		if f, err = os.Create(tmp); err != nil {
			return err
		}
		defer os.Remove(tmp)
		defer f.Close()
		w = f
	}
	start := time.Now()
	st, err := migrate.Export(ctx, src, envs, w, migrate.Options{Progress: progress(stderr, "exported")})
	if err != nil {
		return err
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), *out); err != nil {
			return err
		}
		_ = syncDir(filepath.Dir(*out))
	}
	fmt.Fprintf(stderr, "exported %d datasets, %d columns, %d events in %v\n", st.Datasets, st.Columns, st.Events, time.Since(start).Round(time.Millisecond))
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// importCmd is `waggle import`.
func importCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("waggle import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("store", os.Getenv("WAGGLE_STORE"), "store to import into: clickhouse://… or duckdb:DIR (WAGGLE_STORE)")
	in := fs.String("in", "", "file written by waggle export; - for standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || *in == "" {
		return fmt.Errorf("import: --store and --in are required")
	}
	var r io.Reader = os.Stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	dst, err := migrate.OpenStore(ctx, *to, migrateMemory, quietLogger(stderr))
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := migrate.Import(ctx, dst, r, migrate.Options{Progress: progress(stderr, "imported")})
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "imported %d datasets, %d columns, %d events in %v\n", st.Datasets, st.Columns, st.Events, time.Since(start).Round(time.Millisecond))
	return nil
}

// migrateStoreCmd is `waggle migrate-store`.
func migrateStoreCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("waggle migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c migrateCommon
	from := fs.String("from", "", "source store: duckdb:DIR (server stopped) or clickhouse://…")
	to := fs.String("to", os.Getenv("WAGGLE_STORE"), "target store: clickhouse://… (WAGGLE_STORE)")
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("migrate-store: --from and --to are required")
	}
	if dir, ok := strings.CutPrefix(*from, "duckdb:"); ok {
		c.dataDir = dir
	}
	envs, err := c.environments(ctx)
	if err != nil {
		return err
	}
	var src, dst store.Store
	if src, err = migrate.OpenStore(ctx, *from, migrateMemory, quietLogger(stderr)); err != nil {
		return err
	}
	defer src.Close()
	if dst, err = migrate.OpenStore(ctx, *to, migrateMemory, quietLogger(stderr)); err != nil {
		return err
	}
	start := time.Now()
	st, err := migrate.Copy(ctx, src, dst, envs, migrate.Options{Progress: progress(stderr, "copied")})
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "copied %d datasets, %d columns, %d events in %v\n", st.Datasets, st.Columns, st.Events, time.Since(start).Round(time.Millisecond))
	return nil
}
