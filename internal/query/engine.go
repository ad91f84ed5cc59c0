// Package query is waggle's query engine. It parses and validates Honeycomb
// query specifications, lowers them to a Plan that any store executes, and
// shapes the store's Result into Honeycomb's query results. It knows nothing
// of any ingest protocol nor of any storage dialect.
package query

// Engine runs query specifications against a store.
type Engine struct{}
