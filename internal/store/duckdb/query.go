package duckdb

import (
	"context"
	"fmt"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// Execute runs a plan over the environment's datasets.
func (s *Store) Execute(ctx context.Context, env event.EnvID, p *query.Plan) (*query.Result, error) {
	s.attach.RLock()
	defer s.attach.RUnlock()
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

// schema describes the day tables of the given datasets (all of env when
// none) that may hold events in [start, end).
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
	sc := &sqlgen.Schema{Time: "ts", SampleRate: "sr"}
	lo, hi := nanos(start), nanos(end)
	for _, dy := range s.days {
		if (dy.num+1)*dayNanos <= lo || dy.num*dayNanos >= hi {
			continue
		}
		for _, d := range ds {
			t := dy.tables[d.id]
			if t == nil || t.maxTs < lo || t.minTs >= hi {
				continue
			}
			sc.Parts = append(sc.Parts, s.part(dy, d, t))
		}
	}
	sortParts(sc.Parts)
	return sc, nil
}

func (s *Store) part(dy *day, d *dataset, t *table) sqlgen.Part {
	// The table's time range narrows the part: raw queries skip parts
	// outside the range they need.
	return sqlgen.Part{
		Dataset: d.name,
		From:    quote(dy.alias) + "." + quote(tableName(d.id)),
		Start:   time.Unix(0, t.minTs),
		End:     time.Unix(0, t.maxTs).Add(1),
		Sampled: t.sampled,
		Columns: t.columns,
	}
}

// AggregateFilters reports that Execute honours Aggregate.Where
// (per-calculation filters); see query.AggregateFilterer.
func (s *Store) AggregateFilters() bool { return true }

// AggregateIf uses the standard FILTER clause (see sqlgen.Dialect).
func (dialect) AggregateIf(agg, cond string) string { return agg + " FILTER (WHERE " + cond + ")" }

// ExecuteWithTotal runs a plan and its total plan (see
// query.TotalExecutor), in the same scans where it can.
func (s *Store) ExecuteWithTotal(ctx context.Context, env event.EnvID, main, total *query.Plan) (*query.Result, *query.Result, error) {
	s.attach.RLock()
	defer s.attach.RUnlock()
	schema, err := s.schema(env, main.Datasets, main.Start, main.End)
	if err != nil {
		return nil, nil, fmt.Errorf("execute: %w", err)
	}
	mr, tr, err := sqlgen.ExecuteWithTotal(ctx, s.db, dialect{}, schema, main, total)
	if err != nil {
		return nil, nil, fmt.Errorf("execute: %w", err)
	}
	return mr, tr, nil
}
