// Package xray turns AWS X-Ray segment documents into waggle's events and
// back. Segments and subsegments become spans of the one trace model: X-Ray
// trace ids (1-5f84c7a1-0123…) are stored in W3C form (5f84c7a10123…), so a
// request that crosses X-Ray- and OpenTelemetry-instrumented services is one
// trace. The package parses segments (segment.go), maps them to events
// (translate.go), holds in-progress and streamed documents until they can be
// written (assembler.go), rebuilds X-Ray documents and traces from stored
// events for the API (trace.go), and derives service graphs (graph.go).
//
// Subpackages serve the protocol: daemon (UDP segments and TCP sampling on
// WAGGLE_XRAY_ADDR), sampling (centralized sampling rules and targets), api
// (the X-Ray REST API with SigV4) and filter (the filter-expression
// language).
package xray
