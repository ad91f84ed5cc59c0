package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/clickhouse"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// openStore opens the event store cfg.Store selects: the embedded DuckDB
// store in cfg.DataDir by default, or ClickHouse for a clickhouse:// URL.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	switch {
	case cfg.Store == "" || cfg.Store == "duckdb":
		return duckdb.Open(duckdb.Options{
			Dir:         cfg.DataDir,
			MemoryLimit: int64(float64(cfg.MemoryLimit) * storeShare),
			Logger:      log,
		})
	case strings.HasPrefix(cfg.Store, "clickhouse://"):
		opts, err := clickhouse.ParseDSN(cfg.Store)
		if err != nil {
			return nil, err
		}
		opts.Logger = log
		return clickhouse.Open(ctx, opts)
	}
	return nil, fmt.Errorf("store %q: want empty (embedded DuckDB) or a clickhouse:// URL", cfg.Store)
}
