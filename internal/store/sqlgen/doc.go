// Package sqlgen translates a query.Plan into SQL and runs it, for every
// SQL-speaking store (embedded DuckDB, ClickHouse). It owns the semantics of
// waggle's queries — filter null rules, sample-rate correction, percentile
// definition, heatmaps, concurrency, time series — so that every backend
// answers the same plan with the same numbers.
//
// A backend supplies two things:
//
//   - a Dialect: the function names and syntax that differ between engines;
//   - a Schema: the physical layout of the data the plan reads, as a list of
//     Parts (tables or table fragments), each saying where its rows live and
//     which physical column holds each logical column for each value type.
//
// # Column types
//
// A logical column (as clients name it, "duration_ms") may hold values of
// several types over its life. A store keeps one physical column per
// (logical column, value type) pair, so a value is never dropped or mangled.
// Queries read the union:
//
//   - numeric operations (SUM, AVG, MIN, MAX, percentiles, heatmaps,
//     comparisons with a number) read the integer and float physical columns,
//     coalesced to float;
//   - string operations (starts-with, contains, comparisons with a string)
//     read every physical column rendered as text;
//   - a breakdown or COUNT_DISTINCT reads the single physical column when
//     there is one, and the text rendering when there are several;
//   - raw events return every value with its own type.
//
// # Filters and absent values
//
// A filter on a column an event lacks never matches, except does-not-exist.
// Negative operators (!=, does-not-start-with, does-not-end-with,
// does-not-contain, not-in) match only events that have the column: an event
// lacking "status" matches neither status = 200 nor status != 200. A
// comparison with a number reads the numeric physical columns, so an event
// holding a string in that column matches != (it has the column and its value
// is not the number) but not = or <.
//
// # Per-calculation filters
//
// An aggregate with its own filter (query.Aggregate.Where, Honeycomb's
// calculation filters) reads only the events that match the plan's filters
// and its own, with the same null rules. Groups are still made of every
// event matching the plan's filters: a group none of whose events pass an
// aggregate's filter has 0 for COUNT, COUNT_DISTINCT and CONCURRENCY and
// NULL for the others. In the grouped query the filter restricts each
// aggregate call through Dialect.AggregateIf (FILTER (WHERE …) in standard
// SQL, the -If combinator in ClickHouse); in the subqueries that compute one
// aggregate alone (weighted percentiles, CONCURRENCY, HEATMAP, whose bounds
// are those of the filtered values) it is one more WHERE predicate.
//
// # Sample-rate correction
//
// Unless Plan.Unweighted, every event stands for SampleRate events:
// COUNT = Σ sr, SUM = Σ x·sr, AVG = Σ x·sr / Σ sr over events where x is
// present, CONCURRENCY and HEATMAP counts are Σ sr. The p-th percentile over
// values v with weights w (total W) is the smallest value whose cumulative
// weight reaches max(1, W − ⌊W − p·W⌋): for unit weights that is the
// nearest-rank percentile (rank ⌈p·n⌉, at least 1), which is what an exact
// discrete quantile (DuckDB's quantile_disc) returns. COUNT_DISTINCT, MIN and
// MAX are never weighted. When no Part holds a sampled event, the plain
// aggregates (count(*), sum, avg, the engine's exact quantile) are used.
//
// # Time series and CONCURRENCY
//
// With Plan.Granularity g, buckets start at multiples of g since the Unix
// epoch; series are computed only for the groups returned (after havings,
// order and limit). CONCURRENCY counts, per bucket, the events whose interval
// [time, time + duration_ms) overlaps the bucket (an event with a zero or
// negative duration counts in the bucket it starts in; events without a
// numeric duration_ms are not counted; intervals are cut at the end of the
// query range). Its value for a whole group is the maximum over the group's
// buckets. Without a granularity, CONCURRENCY uses buckets of a hundredth of
// the query range, at least one second.
//
// # Safety
//
// Every value from a plan is a bound parameter; identifiers come from the
// Schema and are quoted by the Dialect; the only literals written into SQL are
// numbers formatted by this package.
package sqlgen
