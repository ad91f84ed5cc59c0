package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// Execute runs a plan over the environment's datasets.
func (s *Store) Execute(ctx context.Context, env event.EnvID, p *query.Plan) (*query.Result, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	schema, err := s.schema(env, p.Datasets, p.Start, p.End)
	if err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	res, err := sqlgen.Execute(ctx, s.db, dialect{}, schema, p)
	if err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	return res, nil
}

// AggregateFilters reports that Execute honours query.Aggregate.Where
// (per-calculation filters, through the -If combinators).
func (s *Store) AggregateFilters() bool { return true }

// schema describes the given datasets (all of env when none) as one part
// each: a slice of the events table selected by environment and dataset,
// which the table's sort key turns into a range of granules per partition.
func (s *Store) schema(env event.EnvID, names []string, start, end time.Time) (*sqlgen.Schema, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	var ds []*dataset
	if len(names) == 0 {
		for _, d := range s.envs[env] {
			ds = append(ds, d)
		}
	} else {
		seen := map[int64]bool{}
		for _, n := range names {
			d, err := s.lookup(env, n)
			if err != nil {
				return nil, err
			}
			if !seen[d.id] {
				seen[d.id] = true
				ds = append(ds, d)
			}
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].id < ds[j].id })
	lo, hi := dayOf(nanos(start)), dayOf(nanos(end))
	sc := &sqlgen.Schema{Time: "ts", SampleRate: "sr"}
	for _, d := range ds {
		has, sampled := false, false
		for k, m := range s.parts {
			if k.day < lo-1 || k.day > hi+1 {
				continue
			}
			if smp, ok := m[d.id]; ok {
				has = true
				sampled = sampled || smp
			}
		}
		if !has {
			continue
		}
		sc.Parts = append(sc.Parts, s.part(d, sampled))
	}
	return sc, nil
}

func (s *Store) part(d *dataset, sampled bool) sqlgen.Part {
	p := sqlgen.Part{
		Dataset: d.name,
		From:    s.table("events"),
		Where:   "env = ? AND dataset = ?",
		Args:    []any{int64(d.env), d.id},
		Sampled: sampled,
		Columns: d.physical(),
	}
	if d.hideBefore != 0 {
		p.Start = time.Unix(0, d.hideBefore)
	}
	return p
}

// Trace returns every event of the environment whose trace.trace_id is
// traceID, oldest first: the trace index (sorted by trace id) names the
// datasets and time ranges, then only those slices of the events are read.
func (s *Store) Trace(ctx context.Context, env event.EnvID, traceID string) ([]query.RawEvent, error) {
	traceID = sqlgen.ValidUTF8(traceID)
	if err := s.fresh(ctx); err != nil {
		return nil, fmt.Errorf("trace %q: %w", traceID, err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT dataset, min(min_ts), max(max_ts) FROM "+s.table("trace_index")+
		" WHERE env = ? AND trace_id = ? GROUP BY dataset", int64(env), traceID)
	if err != nil {
		return nil, fmt.Errorf("trace %q: index: %w", traceID, err)
	}
	type hit struct{ ds, lo, hi int64 }
	var hits []hit
	for rows.Next() {
		var x hit
		if err := rows.Scan(&x.ds, &x.lo, &x.hi); err != nil {
			rows.Close()
			return nil, fmt.Errorf("trace %q: index: %w", traceID, err)
		}
		hits = append(hits, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace %q: index: %w", traceID, err)
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].ds < hits[j].ds })
	sc := &sqlgen.Schema{Time: "ts", SampleRate: "sr"}
	var lo, hi int64
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, errClosed
	}
	for _, x := range hits {
		d := s.datasets[x.ds]
		if d == nil || d.env != env {
			continue
		}
		p := s.part(d, false)
		p.Start, p.End = time.Unix(0, max(x.lo, d.hideBefore)), time.Unix(0, x.hi+1)
		sc.Parts = append(sc.Parts, p)
		if len(sc.Parts) == 1 || x.lo < lo {
			lo = x.lo
		}
		if len(sc.Parts) == 1 || x.hi > hi {
			hi = x.hi
		}
	}
	s.mu.RUnlock()
	if len(sc.Parts) == 0 {
		return nil, nil
	}
	p := &query.Plan{
		Start:   time.Unix(0, lo),
		End:     time.Unix(0, hi+1),
		Filters: []query.Filter{{Column: traceIDColumn, Op: query.OpEq, Value: event.String(traceID)}},
	}
	ev, err := sqlgen.Raw(ctx, s.db, dialect{}, sc, p, true)
	if err != nil {
		return nil, fmt.Errorf("trace %q: %w", traceID, err)
	}
	return ev, nil
}
