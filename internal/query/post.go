package query

import (
	"cmp"
	"slices"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
)

// postProcess applies havings, orders and the limit in the engine, for
// queries whose havings or orders refer to RATE_* values the store cannot
// compute. A having on a null value drops the group.
func (c *compiled) postProcess(groups []*group) []*group {
	kept := groups[:0:0]
	for _, g := range groups {
		ok := true
		for _, h := range c.havings {
			if !g.ok[h.calc] || !h.op.compare(cmp.Compare(g.nums[h.calc], h.value)) {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, g)
		}
	}
	index := make(map[string]int, len(c.breakdowns))
	for i, b := range c.breakdowns {
		index[b] = i
	}
	slices.SortStableFunc(kept, func(a, b *group) int {
		for _, o := range c.orders {
			var d int
			if o.calc >= 0 {
				d = compareNums(a.nums[o.calc], a.ok[o.calc], b.nums[o.calc], b.ok[o.calc], o.descending)
			} else {
				i := index[o.column]
				d = compareValues(a.key[i], b.key[i])
				if o.descending {
					d = -d
				}
			}
			if d != 0 {
				return d
			}
		}
		return 0
	})
	if len(kept) > c.limit {
		kept = kept[:c.limit]
	}
	return kept
}

// compareNums orders numbers, nulls last in either direction.
func compareNums(a float64, aok bool, b float64, bok bool, desc bool) int {
	switch {
	case !aok && !bok:
		return 0
	case !aok:
		return 1
	case !bok:
		return -1
	}
	if desc {
		return cmp.Compare(b, a)
	}
	return cmp.Compare(a, b)
}

// compareValues orders breakdown values: nulls first, then booleans,
// numbers and strings, each in their natural order.
func compareValues(a, b event.Value) int {
	rank := func(v event.Value) int {
		switch v.Type() {
		case event.TypeNull:
			return 0
		case event.TypeBool:
			return 1
		case event.TypeInt, event.TypeFloat:
			return 2
		}
		return 3
	}
	if d := cmp.Compare(rank(a), rank(b)); d != 0 {
		return d
	}
	switch a.Type() {
	case event.TypeBool:
		return cmp.Compare(boolInt(a.Bool()), boolInt(b.Bool()))
	case event.TypeInt, event.TypeFloat:
		if a.Type() == event.TypeInt && b.Type() == event.TypeInt {
			return cmp.Compare(a.Int(), b.Int())
		}
		return cmp.Compare(a.Float(), b.Float())
	case event.TypeString:
		return strings.Compare(a.Str(), b.Str())
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
