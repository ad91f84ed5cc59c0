package cloudwatchlogs

import (
	"context"
	"sort"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// logEvent is a stored log line as the read operations need it.
type logEvent struct {
	ID        string
	Stream    string
	Timestamp int64
	Ingestion int64
	Message   string
	Fields    []event.Field // every stored field (Insights reads them)
}

func toLogEvent(r *query.RawEvent) logEvent {
	var e logEvent
	for _, f := range r.Fields {
		switch f.Key {
		case FieldEventID:
			e.ID = f.Value.Text()
		case FieldLogStream:
			e.Stream = f.Value.Text()
		case FieldTimestamp:
			e.Timestamp = f.Value.Int()
		case FieldIngestionTime:
			e.Ingestion = f.Value.Int()
		case FieldMessage:
			e.Message = f.Value.Text()
		}
	}
	if e.Timestamp == 0 {
		e.Timestamp = r.Time.UnixMilli()
	}
	e.Fields = r.Fields
	return e
}

// scan reads a group's dataset in event-id order. Stores return raw events
// newest first with a limit, so reading oldest first pages by time: a count
// histogram over the range finds the window that holds the next events,
// which is then read whole. Every read is bounded by maxFetch rows.
type scan struct {
	a       *API
	env     event.EnvID
	dataset string
	// filters are pushed down to the store (ANDed).
	filters []query.Filter
	// startMs and endMs bound event timestamps: [startMs, endMs).
	startMs, endMs int64
}

// maxFetch bounds the rows one raw read returns.
const maxFetch = 20000

func ms(t int64) time.Time { return time.UnixMilli(t).UTC() }

func (s *scan) plan(lo, hi int64, extra ...query.Filter) *query.Plan {
	f := make([]query.Filter, 0, len(s.filters)+len(extra))
	f = append(f, s.filters...)
	f = append(f, extra...)
	return &query.Plan{Datasets: []string{s.dataset}, Start: ms(lo), End: ms(hi), Filters: f}
}

func afterFilter(after string) []query.Filter {
	if after == "" {
		return nil
	}
	return []query.Filter{{Column: FieldEventID, Op: query.OpGt, Value: event.String(after)}}
}

func beforeFilter(before string) []query.Filter {
	if before == "" {
		return nil
	}
	return []query.Filter{{Column: FieldEventID, Op: query.OpLt, Value: event.String(before)}}
}

func (s *scan) raw(ctx context.Context, p *query.Plan) ([]logEvent, error) {
	res, err := s.a.Store.Execute(ctx, s.env, p)
	if err != nil {
		return nil, err
	}
	out := make([]logEvent, 0, len(res.Events))
	for i := range res.Events {
		e := toLogEvent(&res.Events[i])
		if e.ID == "" {
			continue // not a log line (a dataset shared with other events)
		}
		out = append(out, e)
	}
	return out, nil
}

func sortAsc(evs []logEvent) {
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
}

// ascend returns up to want events with id > after (all when after is "")
// in [startMs, endMs), oldest first. scanned is the cursor up to which the
// range has been read (the last event's id when the page is full), done
// whether nothing is left after it.
func (s *scan) ascend(ctx context.Context, after string, want int) (evs []logEvent, scanned string, done bool, err error) {
	lo, hi := s.startMs, s.endMs
	if after != "" {
		lo = max(lo, idTime(after))
	}
	if lo >= hi || want <= 0 {
		return nil, after, lo >= hi, nil
	}
	extra := afterFilter(after)
	// Bounds first: how many, and between which timestamps.
	p := s.plan(lo, hi, extra...)
	p.Aggregates = []query.Aggregate{{Op: query.AggCount}, {Op: query.AggMin, Column: FieldTimestamp}, {Op: query.AggMax, Column: FieldTimestamp}}
	p.Unweighted = true
	res, err := s.a.Store.Execute(ctx, s.env, p)
	if err != nil {
		return nil, "", false, err
	}
	if len(res.Groups) == 0 || len(res.Groups[0].Values) < 3 || res.Groups[0].Values[0].Number == 0 {
		return nil, maxCursor(hi - 1), true, nil
	}
	v := res.Groups[0].Values
	total := int(v[0].Number)
	if !v[1].Null && !v[2].Null {
		lo = max(lo, int64(v[1].Number))
		hi = min(hi, int64(v[2].Number)+1)
	}
	if total <= max(want, maxFetch) {
		evs, err := s.raw(ctx, s.plan(lo, hi, extra...))
		if err != nil {
			return nil, "", false, err
		}
		sortAsc(evs)
		if len(evs) > want {
			return evs[:want], evs[want-1].ID, false, nil
		}
		return evs, maxCursor(s.endMs - 1), true, nil
	}
	for {
		// A histogram of counts over [lo, hi) in about 256 buckets.
		g := max((hi-lo+255)/256, 1)
		hp := s.plan(lo, hi, extra...)
		hp.Aggregates = []query.Aggregate{{Op: query.AggCount}}
		hp.Granularity = time.Duration(g) * time.Millisecond
		hp.Unweighted = true
		res, err := s.a.Store.Execute(ctx, s.env, hp)
		if err != nil {
			return nil, "", false, err
		}
		pts := res.Series
		sort.Slice(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
		cum := 0
		cut := -1
		for i, pt := range pts {
			if len(pt.Values) == 0 {
				continue
			}
			c := int(pt.Values[0].Number)
			if cum+c >= want {
				cut = i
				break
			}
			cum += c
		}
		if cut < 0 {
			// Fewer than want left (the data changed since the bounds).
			evs, err := s.raw(ctx, s.plan(lo, hi, extra...))
			if err != nil {
				return nil, "", false, err
			}
			sortAsc(evs)
			if len(evs) > want {
				return evs[:want], evs[want-1].ID, false, nil
			}
			return evs, maxCursor(s.endMs - 1), true, nil
		}
		bs := max(pts[cut].Time.UnixMilli(), lo)
		be := min(pts[cut].Time.UnixMilli()+g, hi)
		c := int(pts[cut].Values[0].Number)
		switch {
		case cum+c <= max(2*want, maxFetch) || g == 1:
			evs, err := s.raw(ctx, s.plan(lo, be, extra...))
			if err != nil {
				return nil, "", false, err
			}
			sortAsc(evs)
			if len(evs) > want {
				return evs[:want], evs[want-1].ID, false, nil
			}
			return evs, maxCursor(be - 1), be >= s.endMs, nil
		case cum > 0:
			evs, err := s.raw(ctx, s.plan(lo, bs, extra...))
			if err != nil {
				return nil, "", false, err
			}
			sortAsc(evs)
			if len(evs) > want {
				return evs[:want], evs[want-1].ID, false, nil
			}
			return evs, maxCursor(bs - 1), false, nil
		default:
			lo, hi = bs, be
		}
	}
}

// descend returns up to want events with id < before (all when before is
// "") in [startMs, endMs), newest first, and whether nothing older is left.
func (s *scan) descend(ctx context.Context, before string, want int) (evs []logEvent, done bool, err error) {
	lo, hi := s.startMs, s.endMs
	if before != "" {
		hi = min(hi, idTime(before)+1)
	}
	if lo >= hi || want <= 0 {
		return nil, lo >= hi, nil
	}
	p := s.plan(lo, hi, beforeFilter(before)...)
	p.Limit = want
	evs, err = s.raw(ctx, p)
	if err != nil {
		return nil, false, err
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID > evs[j].ID })
	return evs, len(evs) < want, nil
}
