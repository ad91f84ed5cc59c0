// Package event defines waggle's single data model: an event is a timestamped
// set of flat, typed fields in a dataset. Every protocol (Honeycomb, OTLP,
// X-Ray, CloudWatch Logs, Rollbar) translates into this model; the store and the
// query engine know nothing else.
package event

import (
	"time"
)

// Event is one row in a dataset: a span, a log line, an error occurrence or a
// plain Honeycomb event.
//
// An Event does not own its Fields slice after it is handed to the ingest
// pipeline: the producer must not modify it afterwards.
type Event struct {
	// Time is when the event happened (a span's start).
	Time time.Time
	// Dataset is the dataset name as the client wrote it. Names are
	// case-insensitive: the store resolves them through Slug, and the first
	// event of a dataset fixes its display name.
	Dataset string
	// SampleRate says this event stands for SampleRate events (1 = unsampled).
	SampleRate int64
	// Fields are the event's columns. Keys are unique within one event.
	Fields []Field
}

// Field is one named value.
type Field struct {
	Key   string
	Value Value
}

// Get returns the value of the named field and whether it is present.
func (e *Event) Get(key string) (Value, bool) {
	for i := range e.Fields {
		if e.Fields[i].Key == key {
			return e.Fields[i].Value, true
		}
	}
	return Value{}, false
}

// Set sets a field, replacing an existing one with the same key.
func (e *Event) Set(key string, v Value) {
	for i := range e.Fields {
		if e.Fields[i].Key == key {
			e.Fields[i].Value = v
			return
		}
	}
	e.Fields = append(e.Fields, Field{Key: key, Value: v})
}

// Size is an estimate of the memory an event holds, used to bound the ingest
// pipeline's memory.
func (e *Event) Size() int {
	n := 64 + len(e.Dataset)
	for i := range e.Fields {
		n += 48 + len(e.Fields[i].Key) + len(e.Fields[i].Value.s)
	}
	return n
}

// Batch is a set of events for one environment, the unit the ingest pipeline
// and the store work with.
type Batch struct {
	Env    EnvID
	Events []Event
}

// EnvID identifies an environment. Every read and write is scoped to one.
type EnvID int64
