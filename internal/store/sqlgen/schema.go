package sqlgen

import (
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Schema is the physical layout of the data a plan reads, supplied by the
// store.
type Schema struct {
	// Time is the physical time column of every part.
	Time string
	// SampleRate is the physical sample-rate column (int64) of every part.
	SampleRate string
	// Parts are the tables (or table fragments) that together hold the
	// plan's events. No part means no events.
	Parts []Part
}

// Part is one source of rows: a table of one dataset, or a fragment of a
// shared table selected by Where.
type Part struct {
	// Dataset is the dataset's display name, returned with raw events.
	Dataset string
	// From is a table reference, already quoted by the store.
	From string
	// Where is an optional extra predicate (with "?" placeholders bound to
	// Args), e.g. the environment and dataset of a shared table.
	Where string
	Args  []any
	// Start and End, when set, narrow the plan's time range for this part.
	Start, End time.Time
	// Sampled reports whether any event of the part has a sample rate other
	// than 1; when no part is sampled the plain aggregates are used.
	Sampled bool
	// Columns maps logical column names to their physical columns in this
	// part. A logical column absent from the map reads as NULL.
	Columns map[string]Physical
}

// Physical names the physical columns holding one logical column, one per
// value type; an empty name means the part has no value of that type.
type Physical struct {
	String, Int, Float, Bool string
}

// Get returns the physical column for type t.
func (p Physical) Get(t event.Type) string {
	switch t {
	case event.TypeString:
		return p.String
	case event.TypeInt:
		return p.Int
	case event.TypeFloat:
		return p.Float
	case event.TypeBool:
		return p.Bool
	}
	return ""
}

// physTypes are the value types in the order physical columns are listed.
var physTypes = [...]event.Type{event.TypeString, event.TypeInt, event.TypeFloat, event.TypeBool}
