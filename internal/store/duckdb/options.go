package duckdb

import (
	"log/slog"
)

// Options configure a Store.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// MemoryLimit bounds DuckDB's memory in bytes (its memory_limit); zero
	// leaves DuckDB's default of 80% of RAM.
	MemoryLimit int64
	// Threads is DuckDB's worker thread count; zero means one per core.
	Threads int
	// CheckpointThreshold is the write-ahead log size in bytes that makes
	// DuckDB checkpoint a database; zero means 64 MiB.
	CheckpointThreshold int64
	// Logger receives the store's logs; nil means slog.Default().
	Logger *slog.Logger
}

const defaultCheckpointThreshold = 64 << 20
