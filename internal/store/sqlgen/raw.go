package sqlgen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Raw returns the events matching p's filters with every non-null field,
// newest first (oldest first when oldestFirst), at most p.Limit of them
// (all when p.Limit is zero). Fields are ordered by name.
//
// Datasets may have thousands of sparse columns, and a query over all of
// them at once would carry every column of every part through the scan. Raw
// works in two phases instead: it first finds the time of the p.Limit-th
// matching event reading only the columns the filters need, then reads each
// part alone, with only that part's columns, for the events at or after (at
// or before, oldest first) that time, and merges the parts' events.
func Raw(ctx context.Context, q Querier, d Dialect, s *Schema, p *query.Plan, oldestFirst bool) ([]query.RawEvent, error) {
	if !p.Start.Before(p.End) {
		return nil, fmt.Errorf("invalid plan: empty time range %v to %v", p.Start, p.End)
	}
	var cut *int64
	if p.Limit > 0 && len(s.Parts) > 0 {
		g := newGen(d, s, p)
		if g.derivedErr != nil {
			return nil, g.derivedErr
		}
		var b buf
		b.s("SELECT ts FROM ")
		g.source(&b, false)
		g.where(&b)
		if oldestFirst {
			b.s(" ORDER BY ts ASC")
		} else {
			b.s(" ORDER BY ts DESC")
		}
		b.s(" LIMIT 1 OFFSET ", inum(int64(p.Limit-1)))
		var ts sql.NullInt64
		switch err := queryRow(ctx, q, &b, &ts); {
		case errors.Is(err, sql.ErrNoRows):
			// Fewer matching events than the limit: read them all.
		case err != nil:
			return nil, fmt.Errorf("run raw query: cutoff: %w", err)
		case ts.Valid:
			cut = &ts.Int64
		}
	}
	var out []query.RawEvent
	for i := range s.Parts {
		pt := s.Parts[i]
		start, end := window(p, &pt)
		if cut != nil {
			// Narrow the part to the events that may be among the first.
			c := time.Unix(0, *cut)
			if oldestFirst {
				if next := c.Add(1); next.Before(end) {
					end = next
				}
			} else if c.After(start) {
				start = c
			}
		}
		if !start.Before(end) {
			continue
		}
		pt.Start, pt.End = start, end
		evs, err := rawPart(ctx, q, d, &Schema{Time: s.Time, SampleRate: s.SampleRate, Parts: []Part{pt}}, p, oldestFirst)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if oldestFirst {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Time.After(out[j].Time)
	})
	if p.Limit > 0 && len(out) > p.Limit {
		clear(out[p.Limit:])
		out = out[:p.Limit]
	}
	return out, nil
}

// rawPart runs the raw query over one part, projecting only its columns.
func rawPart(ctx context.Context, q Querier, d Dialect, s *Schema, p *query.Plan, oldestFirst bool) ([]query.RawEvent, error) {
	g := newGen(d, s, p)
	g.useAll()
	var b buf
	b.s("SELECT ts, sr, ds")
	sel := append([]*lcol(nil), g.ordered...)
	sort.Slice(sel, func(i, j int) bool { return sel[i].name < sel[j].name })
	for _, c := range sel {
		for j, t := range physTypes {
			if c.types[j] {
				b.s(", ", g.alias(c, t))
			}
		}
	}
	b.s(" FROM ")
	g.source(&b, true)
	g.where(&b)
	if oldestFirst {
		b.s(" ORDER BY ts ASC")
	} else {
		b.s(" ORDER BY ts DESC")
	}
	if p.Limit > 0 {
		b.s(" LIMIT ", inum(int64(p.Limit)))
	}
	rows, err := q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("run raw query: %w", err)
	}
	defer rows.Close()
	type slot struct {
		name string
		t    event.Type
	}
	var slots []slot
	for _, c := range sel {
		for j, t := range physTypes {
			if c.types[j] {
				slots = append(slots, slot{c.name, t})
			}
		}
	}
	var ts, sr sql.NullInt64
	var ds sql.NullString
	vals := make([]any, len(slots))
	dest := make([]any, 3+len(slots))
	dest[0], dest[1], dest[2] = &ts, &sr, &ds
	for i := range vals {
		dest[3+i] = &vals[i]
	}
	var out []query.RawEvent
	for rows.Next() {
		for i := range vals {
			vals[i] = nil
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan raw event: %w", err)
		}
		ev := query.RawEvent{Time: time.Unix(0, ts.Int64).UTC(), Dataset: ds.String, SampleRate: sr.Int64}
		for i, v := range vals {
			if v == nil {
				continue
			}
			ev.Fields = append(ev.Fields, event.Field{Key: slots[i].name, Value: typed(v, slots[i].t)})
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read raw events: %w", err)
	}
	return out, nil
}

// typed converts a scanned physical value of type t into a Value.
func typed(v any, t event.Type) event.Value {
	switch t {
	case event.TypeString:
		switch s := v.(type) {
		case string:
			return event.String(s)
		case []byte:
			return event.String(string(s))
		}
	case event.TypeInt:
		if i, ok := v.(int64); ok {
			return event.Int(i)
		}
	case event.TypeFloat:
		if f, ok := v.(float64); ok {
			return event.Float(f)
		}
	case event.TypeBool:
		switch b := v.(type) {
		case bool:
			return event.Bool(b)
		case uint8: // engines without a boolean type
			return event.Bool(b != 0)
		case int64:
			return event.Bool(b != 0)
		}
	}
	return toValue(v)
}
