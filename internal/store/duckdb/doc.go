// Package duckdb is waggle's embedded event store: DuckDB (through
// duckdb-go) in a data directory, with no server to run.
//
// # Layout
//
// The data directory holds
//
//	catalog.duckdb        datasets and column metadata (the main database)
//	parts/YYYYMMDD.duckdb one database per UTC day of event time, ATTACHed
//	                      as pYYYYMMDD
//
// A day database holds one table per dataset that has events that day,
// e<dataset id>, with the fixed columns ts (int64 nanoseconds since the
// epoch) and sr (sample rate), then one column per (logical column, value
// type) seen that day, named c<column id><s|i|f|b>. Tables are appended in
// arrival order, which for live data is time order, so DuckDB's zone maps
// prune row groups by ts; a day file is additionally skipped as a whole
// unless its recorded [min ts, max ts] per table overlaps the query. Sparse
// columns cost nothing in tables of days where they never appear, and rows
// are appended through an Appender restricted to the columns a batch
// actually uses, so a dataset with hundreds of mostly-null columns still
// appends only what is there.
//
// Each day database also has two small tables written in the same
// transaction as the events:
//
//	tables (ds, min_ts, max_ts, rows, sampled)  per-table statistics
//	traces (h, ds, min_ts, max_ts)              trace index
//
// traces has one row per (trace id, dataset, write batch): h is a 64-bit
// hash of trace.trace_id. Trace looks the hash up in every day's index (a
// scan of a narrow integer column), then reads only the row groups of the
// tables and time ranges found, filtering on the real trace id.
//
// Retention drops a day table once the whole day is older than its dataset's
// window (so events are kept up to one day past it); a day database left
// without tables is detached and its file deleted, and one that lost only
// some tables is compacted (copied into a fresh file that replaces it), so
// disk is really freed.
//
// # Column types
//
// A value is never dropped or mangled by its type: each (column, value type)
// pair gets its own physical column when first needed. The column's logical
// type reported by Columns is the first value's type, widened to float when
// integers and floats mix and to string when a string mixes with anything
// else. Queries read the union of the physical columns as package sqlgen
// documents (numbers coalesce integer and float columns; string operations
// see every value as text). Strings that are not valid UTF-8 (which DuckDB
// cannot store) have their invalid bytes replaced by U+FFFD; event times
// are clamped to the years 1678–2261 that int64 nanoseconds can hold.
//
// # Durability
//
// Write returns after COMMIT of every day database it touched; DuckDB writes
// the transaction to that database's write-ahead log and fsyncs it before
// COMMIT returns (checked with strace: one fsync of the .wal file per
// commit). Catalog changes (new datasets and columns) commit first, so a
// crash can leave a column without data but never data without its column.
// A DuckDB transaction may write to one attached database only, so a batch
// spanning several days commits one transaction per day: when Write fails,
// the days committed before the failure stay stored. Last-written times are
// kept in memory and persisted every few seconds and on Close.
package duckdb
