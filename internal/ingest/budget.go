package ingest

import "sync/atomic"

// Budget is a byte budget that never blocks: TryAcquire fails at once when
// the bytes are not available, so an overloaded server sheds load instead of
// growing its memory.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes; limit ≤ 0 means unlimited.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// TryAcquire takes n bytes if they fit. A request larger than the whole
// budget is admitted only when nothing else holds any, so a single large
// request still goes through on an idle server.
func (b *Budget) TryAcquire(n int64) bool {
	if b.limit <= 0 {
		b.used.Add(n)
		return true
	}
	for {
		used := b.used.Load()
		if used+n > b.limit && used != 0 {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// Release returns n bytes.
func (b *Budget) Release(n int64) { b.used.Add(-n) }

// Used is the bytes held now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Limit is the budget's size (≤ 0: unlimited).
func (b *Budget) Limit() int64 { return b.limit }
