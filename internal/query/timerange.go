package query

import (
	"time"
)

// Time limits of a spec.
const (
	// DefaultTimeRange is Honeycomb's default query range, in seconds.
	DefaultTimeRange = 7200
	// MaxTimeRange is the longest range a query may cover, in seconds (ten
	// years).
	MaxTimeRange = 10 * 366 * 24 * 3600
	// maxUnix is the last second of year 9999.
	maxUnix = 253402300799
	// MaxBuckets is the most series buckets a query may ask for: Honeycomb's
	// granularity must be at least range/1000.
	MaxBuckets = 1000
)

// compareOffsets are the values compare_time_offset_seconds may take.
var compareOffsets = map[int64]bool{
	1800: true, 3600: true, 7200: true, 28800: true, 86400: true,
	604800: true, 2419200: true, 15724800: true,
}

// window is a resolved time range and its series granularity.
type window struct {
	start, end time.Time
	// granularity is the spec's, or zero when it sets none.
	granularity time.Duration
}

// seconds is the window's length in whole seconds.
func (w window) seconds() int64 { return int64(w.end.Sub(w.start) / time.Second) }

// resolveTime applies Honeycomb's time rules: time_range (default 7200)
// counts forward from start_time, back from end_time, or back from now;
// start_time with end_time needs no time_range, and setting all three is an
// error. It also checks granularity and compare_time_offset_seconds.
func (s *Spec) resolveTime(now time.Time) (window, error) {
	var w window
	if s.TimeRange != nil && s.StartTime != nil && s.EndTime != nil {
		return w, errorf("time_range", "time_range, start_time and end_time cannot all be set; use two of them")
	}
	rng := int64(DefaultTimeRange)
	if s.TimeRange != nil {
		rng = *s.TimeRange
		if rng < 1 || rng > MaxTimeRange {
			return w, errorf("time_range", "must be between 1 and %d seconds, not %d", MaxTimeRange, rng)
		}
	}
	for _, t := range []struct {
		name string
		v    *int64
	}{{"start_time", s.StartTime}, {"end_time", s.EndTime}} {
		if t.v != nil && (*t.v < 0 || *t.v > maxUnix) {
			return w, errorf(t.name, "must be a Unix time in seconds between 0 and %d, not %d", int64(maxUnix), *t.v)
		}
	}
	var start, end int64
	switch {
	case s.StartTime != nil && s.EndTime != nil:
		start, end = *s.StartTime, *s.EndTime
		if end <= start {
			return w, errorf("end_time", "must be after start_time")
		}
		if end-start > MaxTimeRange {
			return w, errorf("end_time", "the range from start_time to end_time is longer than %d seconds", MaxTimeRange)
		}
	case s.StartTime != nil:
		start, end = *s.StartTime, *s.StartTime+rng
	case s.EndTime != nil:
		start, end = *s.EndTime-rng, *s.EndTime
		if start < 0 {
			return w, errorf("time_range", "reaches before 1970 from end_time")
		}
	default:
		w.end = now
		w.start = now.Add(-time.Duration(rng) * time.Second)
	}
	if s.StartTime != nil || s.EndTime != nil {
		w.start, w.end = time.Unix(start, 0).UTC(), time.Unix(end, 0).UTC()
	}
	span := w.seconds()
	if s.Granularity != nil {
		g := *s.Granularity
		if g < 1 || g > span {
			return w, errorf("granularity", "must be between 1 and the query's range (%d seconds), not %d", span, g)
		}
		if g*MaxBuckets < span {
			return w, errorf("granularity", "%d seconds is too fine for a %d-second range: at least %d (range/%d) is needed",
				g, span, (span+MaxBuckets-1)/MaxBuckets, MaxBuckets)
		}
		w.granularity = time.Duration(g) * time.Second
	}
	if s.CompareTimeOffsetSeconds != nil {
		off := *s.CompareTimeOffsetSeconds
		if !compareOffsets[off] {
			return w, errorf("compare_time_offset_seconds", "must be one of 1800, 3600, 7200, 28800, 86400, 604800, 2419200, 15724800, not %d", off)
		}
		if off < span {
			return w, errorf("compare_time_offset_seconds", "must be at least the query's range (%d seconds)", span)
		}
	}
	return w, nil
}

// niceSteps are the bucket widths, in seconds, a default granularity is
// chosen from.
var niceSteps = []int64{
	1, 2, 5, 10, 15, 30,
	60, 120, 300, 600, 900, 1800,
	3600, 7200, 10800, 21600, 43200,
	86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
}

// DefaultGranularity returns the series bucket width for a range of span
// seconds when a spec sets none: the smallest of 1s 2s 5s 10s 15s 30s 1m 2m
// 5m 10m 15m 30m 1h 2h 3h 6h 12h 1d 2d 7d 14d 30d that gives at most 120
// buckets (a two-hour range gets one-minute buckets, a day fifteen-minute
// ones, a week two-hour ones), or range/120 rounded up to whole days beyond.
func DefaultGranularity(span int64) time.Duration {
	if span < 1 {
		span = 1
	}
	want := (span + 119) / 120
	for _, step := range niceSteps {
		if step >= want {
			return time.Duration(step) * time.Second
		}
	}
	days := (want + 86399) / 86400
	return time.Duration(days*86400) * time.Second
}
