// Package clickhouse is waggle's event store for scale: ClickHouse, selected
// with WAGGLE_STORE=clickhouse://host:9000/db (or --store). The embedded
// DuckDB store stays the default.
//
// # Versions and client
//
// The minimum is ClickHouse 18.16 (Debian's clickhouse-server); the SQL is
// limited to what 18.16 and current releases both accept: MergeTree with
// PARTITION BY/ORDER BY, Nullable, arrays, quantileExactWeighted, uniqExact,
// no window functions, no Bool/JSON/Map types, no FILTER clause, one JOIN per
// SELECT (package sqlgen nests joins for this dialect).
//
// The client is clickhouse-go v2 over the native protocol (port 9000): it
// downgrades its protocol revision to 18.16's (54412) and everything waggle
// uses — queries with client-side bound "?" arguments, columnar batch
// INSERTs, LZ4 compression, Nullable and Array columns — works (measured by
// the conformance suite). Its HTTP transport does not: it sends the setting
// client_protocol_version, which 18.16 rejects. clickhouse-go logs that it
// supports 25.8 and later; waggle pins a version whose wire code still
// speaks the old revision. An INSERT … VALUES with bound arguments hangs on
// the native protocol, so every insert is a native batch.
//
// # Layout
//
//	events       env, dataset, ret, ts (int64 ns), sr, typed hot columns
//	             (trace_id, span_id, parent_id, name, service_name,
//	             duration_ms Float64, duration_ms_int Int64; all Nullable),
//	             then s_keys/s_values, i_keys/i_values, f_keys/f_values,
//	             b_keys/b_values: parallel arrays per value type, keyed by
//	             column id. PARTITION BY (ret, day) ORDER BY (env, dataset, ts)
//	trace_index  env, trace_id, dataset, ret, day, min_ts, max_ts
//	             PARTITION BY (ret, day) ORDER BY (env, trace_id)
//	dataset_days which datasets have events in which partition, sampled or not
//	datasets, columns  catalog (ReplacingMergeTree: the highest version wins)
//	column_types       the value types each column has seen (a set)
//	last_written       last-written times of datasets and columns
//	schema_migrations  applied schema versions
//
// Sparse columns are arrays rather than one ClickHouse column per logical
// column (ALTER TABLE ADD COLUMN): before ClickHouse 20.3's compact parts
// every insert writes two files per column of the table, so a dataset with
// thousands of attributes (waggle allows 10,000) would make each insert
// write thousands of files and the shared table would carry every dataset's
// columns; Jaeger's ClickHouse schema and SigNoz make the same choice
// (Nested/Map attributes), and both promote hot attributes to typed columns,
// as waggle does for the fields its queries and trace view read most.
// Reading a sparse column costs an indexOf over the key array of the rows in
// range. Keying by column id makes DeleteColumn instant: ids are never
// reused, so old values are unreachable and leave with their partitions
// (a hot column is cleared with a mutation DeleteColumn waits for).
//
// A query reads one slice of events per dataset (env = ? AND dataset = ?
// and the time range), which the sort key turns into a few granule ranges
// per partition; partitions outside the range are pruned by the minmax index
// of ts.
//
// # Trace lookup
//
// Write inserts one trace_index row per (trace id, dataset, day) of a batch
// before the events. Trace reads the index (sorted by trace id: a few
// granules) for the datasets and time ranges, then reads only those slices
// of events filtered on the trace id — no scan of the whole window.
//
// # Retention
//
// The partition key is (retention class, day), the class being the
// dataset's window in whole days when the events were written, so datasets
// with different windows never share a partition and retention is
// ALTER TABLE … DROP PARTITION: instant, and the disk is freed at once, on
// every shard. A partition is dropped once its day ended more than the
// window ago for every dataset in it. When a window is shortened after the
// write, the expired datasets' rows are hidden from queries and removed by
// a mutation; a lengthened window keeps the partition longer.
//
// # Durability
//
// See Write: an acknowledged INSERT is a part on disk (not fsynced by
// default); clustered inserts are synchronous to every shard.
//
// # Sharding and replicas
//
// With ?cluster=name the store reads the cluster's shards from the server's
// remote_servers configuration, creates events_local and trace_index_local
// on every shard and Distributed tables events and trace_index (sharding key
// rand()) over them; queries and ingest are unchanged. The catalog tables
// live on the server the store connects to. Schema changes and partition
// drops are run on each shard directly, so no ZooKeeper is needed.
//
// For production, give each shard replicas: ReplicatedMergeTree tables
// coordinated by ClickHouse Keeper (or ZooKeeper), <internal_replication>true
// in remote_servers so the Distributed table writes one replica and
// replication copies it, and insert_quorum=2 for acknowledged writes on two
// machines. That requires creating the local tables with
// ReplicatedMergeTree('/clickhouse/tables/{shard}/waggle/events',
// '{replica}') instead of MergeTree; the migrations do not do this yet.
//
// # Several nodes
//
// Any number of waggle nodes may write one database. Ids are derived from
// names (hashes), not allocated, the catalog tables are append-only, and
// each node reloads its cached catalog when a fingerprint of the catalog
// tables' parts moved: see sync.go.
package clickhouse
