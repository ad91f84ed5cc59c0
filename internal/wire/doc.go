// Package wire holds the HTTP body handling every ingest protocol shares:
// reading a request body under a size limit and a memory budget,
// decompressing gzip and zstd while counting the decompressed bytes (so a
// small "zip bomb" cannot expand without bound), parsing the timestamp forms
// clients send (RFC 3339 and Unix epochs of any precision), and answering
// CORS preflights for browser clients.
//
// Nothing here knows a particular protocol: the Honeycomb, OTLP, AWS and
// Rollbar handlers map this package's errors to their own status codes and
// messages.
package wire
