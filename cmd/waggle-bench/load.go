package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// queryDataset is the dataset the query benchmarks read.
const queryDataset = "bench"

// queryDataStart is where the query data's two hours begin: a fixed day in
// the past, so that a cached data set is the same whenever it is used. The
// dataset's retention is set long enough that waggle never deletes it.
var queryDataStart = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

const queryDataWindow = 2 * time.Hour

// storeMemoryLimit is DuckDB's memory_limit inside a waggle with the default
// WAGGLE_MEMORY_LIMIT of 1 GiB (35%, see internal/server). The in-process
// runs and the raw SQL baseline use the same.
const storeMemoryLimit = int64(1<<30) * 35 / 100

// manifest describes a generated query data set; it is written last, so a
// directory without one is incomplete.
type manifest struct {
	Version   string        `json:"version"`
	Events    int64         `json:"events"`
	Seed      uint64        `json:"seed"`
	Start     time.Time     `json:"start"`
	Window    time.Duration `json:"window"`
	Env       int64         `json:"env"`
	Dataset   string        `json:"dataset"`
	TraceIDs  []string      `json:"trace_ids"`
	Created   time.Time     `json:"created"`
	LoadWall  time.Duration `json:"load_wall"`
	DiskBytes int64         `json:"disk_bytes"`
}

func (m *manifest) loadRate() float64 { return float64(m.Events) / m.LoadWall.Seconds() }

const manifestFile = "bench-manifest.json"

// queryData returns the cached data set of n events under cacheDir,
// generating it when missing; generated reports whether it was made now.
func queryData(ctx context.Context, cacheDir string, n int64) (dir string, m *manifest, generated bool, err error) {
	dir = filepath.Join(cacheDir, fmt.Sprintf("query-%s-%d", generatorVersion, n))
	if raw, err := os.ReadFile(filepath.Join(dir, manifestFile)); err == nil {
		m = &manifest{}
		if err := json.Unmarshal(raw, m); err == nil && m.Version == generatorVersion && m.Events == n {
			return dir, m, false, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", nil, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, false, err
	}
	m, err = generateQueryData(ctx, dir, n)
	if err != nil {
		return "", nil, false, err
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", nil, false, err
	}
	if err := os.WriteFile(filepath.Join(dir, manifestFile), raw, 0o644); err != nil {
		return "", nil, false, err
	}
	return dir, m, true, nil
}

// generateQueryData writes n events into a fresh waggle data directory with
// the store's own Write, in batches as large as the ingest pipeline's group
// commits get under load.
func generateQueryData(ctx context.Context, dir string, n int64) (*manifest, error) {
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	mdb, err := meta.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	svc, err := tenant.NewService(ctx, mdb, quiet)
	if err != nil {
		mdb.Close()
		return nil, err
	}
	boot, err := svc.Bootstrap(ctx, tenant.BootstrapOptions{APIKey: benchKey})
	mdb.Close()
	if err != nil {
		return nil, err
	}
	env := boot.Environment.ID

	st, err := duckdb.Open(duckdb.Options{Dir: dir, MemoryLimit: storeMemoryLimit, Logger: quiet})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, _, err := st.CreateDataset(ctx, env, store.DatasetInfo{Name: queryDataset, Retention: 20 * 365 * 24 * time.Hour}); err != nil {
		return nil, err
	}
	m := &manifest{Version: generatorVersion, Events: n, Seed: 1, Start: queryDataStart, Window: queryDataWindow,
		Env: int64(env), Dataset: queryDataset, Created: time.Now().UTC()}
	const batch = 50000
	const traces = 20
	batches := make(chan []event.Event, 2)
	go func() {
		defer close(batches)
		g := newGenerator(m.Seed, m.Start, m.Window, n)
		every := n / traces
		for i := int64(0); i < n; {
			k := min(int64(batch), n-i)
			evs := make([]event.Event, k)
			for j := range evs {
				evs[j] = g.next(queryDataset)
				if every > 0 && (i+int64(j))%every == every/2 && len(m.TraceIDs) < traces {
					v, _ := evs[j].Get(colTrace)
					m.TraceIDs = append(m.TraceIDs, v.Str())
				}
			}
			i += k
			select {
			case batches <- evs:
			case <-ctx.Done():
				return
			}
		}
	}()
	t0 := time.Now()
	var done int64
	lastLog := t0
	for evs := range batches {
		if err := st.Write(ctx, event.Batch{Env: env, Events: evs}); err != nil {
			return nil, fmt.Errorf("write: %w", err)
		}
		done += int64(len(evs))
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			log.Printf("query data: %d of %d events written (%.0f/s)", done, n, float64(done)/time.Since(t0).Seconds())
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	m.LoadWall = time.Since(t0)
	m.DiskBytes = dirSize(filepath.Join(dir, "parts"))
	log.Printf("query data: %d events written in %v (%.0f/s), %.1f bytes/event on disk",
		n, m.LoadWall.Round(time.Millisecond), m.loadRate(), float64(m.DiskBytes)/float64(n))
	return m, nil
}

// copyDir copies the regular files of src into dst (created), skipping the
// manifest.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if rel == manifestFile || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
