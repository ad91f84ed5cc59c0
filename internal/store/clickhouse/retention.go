package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// EnforceRetention deletes events older than their dataset's retention.
//
// Events are partitioned by (retention class, UTC day), the class being the
// dataset's window in whole days when the events were written. A partition
// whose day ended more than the window ago for every dataset with events in
// it (datasets deleted since count as expired) is dropped whole — on every
// shard, with its trace index and partition map — which frees the disk at
// once and costs no rewrite. A partition in which only some datasets expired
// (their window was shortened after the write) keeps the others: the expired
// datasets' rows are hidden from queries at once and deleted by a mutation.
// A lengthened window keeps partitions until the longest window of their
// datasets has passed.
func (s *Store) EnforceRetention(ctx context.Context, now time.Time) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	// Decide on the catalog as every node wrote it: a dataset another node
	// created must not count as deleted.
	if err := s.freshLocked(ctx); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	nowNs := nanos(now)
	type partial struct {
		k   partKey
		ids []int64
	}
	var drop []partKey
	var some []partial
	s.mu.RLock()
	for k, m := range s.parts {
		end := (k.day + 1) * dayNanos
		var expired []int64
		for id := range m {
			d := s.datasets[id]
			if d == nil && !s.tombDS[id] {
				// Unknown: created by another node after the refresh. Keep.
				continue
			}
			if d == nil || end+int64(d.retention) <= nowNs {
				expired = append(expired, id)
			}
		}
		switch {
		case len(expired) == len(m):
			drop = append(drop, k)
		case len(expired) > 0:
			sort.Slice(expired, func(i, j int) bool { return expired[i] < expired[j] })
			some = append(some, partial{k, expired})
		}
	}
	s.mu.RUnlock()
	sort.Slice(drop, func(i, j int) bool { return drop[i].day < drop[j].day })
	for _, k := range drop {
		expr := "(" + inum(int64(k.ret)) + ", " + inum(k.day) + ")"
		for _, sh := range s.shards {
			for _, t := range []string{"events", "trace_index"} {
				if _, err := sh.ExecContext(ctx, "ALTER TABLE "+s.q(s.opts.Database)+"."+s.q(s.localName(t))+" DROP PARTITION "+expr); err != nil {
					return fmt.Errorf("retention: drop partition %s of %s: %w", expr, t, err)
				}
			}
		}
		if _, err := s.db.ExecContext(ctx, "ALTER TABLE "+s.table("dataset_days")+" DROP PARTITION "+expr); err != nil {
			return fmt.Errorf("retention: drop partition %s of dataset_days: %w", expr, err)
		}
		s.mu.Lock()
		delete(s.parts, k)
		s.mu.Unlock()
	}
	for _, p := range some {
		ids := make([]string, len(p.ids))
		for i, id := range p.ids {
			ids[i] = inum(id)
		}
		s.mu.Lock()
		for _, id := range p.ids {
			if d := s.datasets[id]; d != nil {
				// Hide every day up to and including this one.
				d.hideBefore = max(d.hideBefore, (p.k.day+1)*dayNanos)
			}
			delete(s.parts[p.k], id)
		}
		s.mu.Unlock()
		// ALTER … DELETE IN PARTITION needs ClickHouse 20; the filter on
		// the partition key confines the mutation to the partition anyway.
		s.mutate(ctx, "events", "DELETE WHERE ret = "+inum(int64(p.k.ret))+" AND intDiv(ts, "+inum(dayNanos)+") = "+inum(p.k.day)+
			" AND dataset IN ("+strings.Join(ids, ", ")+")")
	}
	return nil
}
