package migrate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/clickhouse"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// OpenStore opens the event store spec names: duckdb:DIR (the embedded
// store of data directory DIR; the server using it must be stopped, DuckDB
// allows one process) or a clickhouse:// URL as WAGGLE_STORE takes it.
func OpenStore(ctx context.Context, spec string, memoryLimit int64, log *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(spec, "duckdb:"):
		dir := strings.TrimPrefix(spec, "duckdb:")
		if dir == "" {
			return nil, fmt.Errorf("store %q: no directory", spec)
		}
		return duckdb.Open(duckdb.Options{Dir: dir, MemoryLimit: memoryLimit, Logger: log})
	case strings.HasPrefix(spec, "clickhouse://"):
		opts, err := clickhouse.ParseDSN(spec)
		if err != nil {
			return nil, err
		}
		opts.Logger = log
		return clickhouse.Open(ctx, opts)
	}
	return nil, fmt.Errorf("store %q: want duckdb:DIR or clickhouse://host:9000/db", spec)
}
