package duckdb

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// Trace returns every event of the environment whose trace.trace_id is
// traceID, oldest first. It looks the id's hash up in each day's trace
// index, then reads only the time ranges the index names.
func (s *Store) Trace(ctx context.Context, env event.EnvID, traceID string) ([]query.RawEvent, error) {
	s.attach.RLock()
	defer s.attach.RUnlock()
	traceID = validUTF8(traceID)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, errClosed
	}
	var sb strings.Builder
	var args []any
	n := 0
	h := traceHash(traceID)
	for _, dy := range s.days {
		if len(dy.tables) == 0 {
			continue
		}
		if n > 0 {
			sb.WriteString(" UNION ALL ")
		}
		n++
		sb.WriteString("SELECT " + inum(dy.num) + " AS day, ds, min(min_ts), max(max_ts) FROM " + quote(dy.alias) + ".traces WHERE h = ? GROUP BY ds")
		args = append(args, h)
	}
	s.mu.RUnlock()
	if n == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("trace %q: index: %w", traceID, err)
	}
	type hit struct{ day, ds, lo, hi int64 }
	var hits []hit
	for rows.Next() {
		var x hit
		if err := rows.Scan(&x.day, &x.ds, &x.lo, &x.hi); err != nil {
			rows.Close()
			return nil, fmt.Errorf("trace %q: index: %w", traceID, err)
		}
		hits = append(hits, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace %q: index: %w", traceID, err)
	}
	sc := &sqlgen.Schema{Time: "ts", SampleRate: "sr"}
	var lo, hi int64
	s.mu.RLock()
	for _, x := range hits {
		d, dy := s.datasets[x.ds], s.days[x.day]
		if d == nil || d.env != env || dy == nil || dy.tables[x.ds] == nil {
			continue
		}
		p := s.part(dy, d, dy.tables[x.ds])
		p.Start, p.End = time.Unix(0, x.lo), time.Unix(0, x.hi+1)
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
	sortParts(sc.Parts)
	p := &query.Plan{
		Start:   time.Unix(0, lo),
		End:     time.Unix(0, hi+1),
		Filters: []query.Filter{{Column: TraceIDColumn, Op: query.OpEq, Value: event.String(traceID)}},
	}
	ev, err := sqlgen.Raw(ctx, s.db, dialect{}, sc, p, true)
	if err != nil {
		return nil, fmt.Errorf("trace %q: %w", traceID, err)
	}
	return ev, nil
}

// sortParts orders parts by table reference for stable SQL.
func sortParts(ps []sqlgen.Part) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].From < ps[j].From })
}
