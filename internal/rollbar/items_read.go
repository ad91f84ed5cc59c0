package rollbar

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
)

// ItemFilter selects items to list.
type ItemFilter struct {
	Statuses     []string
	Levels       []string
	Environments []string
	Framework    string
	IDs          []int64
	// Query matches titles containing it, case-insensitively.
	Query string
}

func (f *ItemFilter) match(it *Item) bool {
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, it.Status) {
		return false
	}
	if len(f.Levels) > 0 && !slices.Contains(f.Levels, it.Level) {
		return false
	}
	if len(f.Environments) > 0 {
		ok := false
		for _, e := range f.Environments {
			ok = ok || slices.Contains(it.Envs, e)
		}
		if !ok {
			return false
		}
	}
	if f.Framework != "" && it.Framework != f.Framework {
		return false
	}
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, it.ID) {
		return false
	}
	if f.Query != "" && !strings.Contains(strings.ToLower(it.Title), strings.ToLower(f.Query)) {
		return false
	}
	return true
}

// List returns one page (1-based, perPage items) of env's items matching f,
// most recently seen first, and the number of matches.
func (s *Items) List(ctx context.Context, env event.EnvID, f ItemFilter, page, perPage int) ([]Item, int, error) {
	e, err := s.load(ctx, env)
	if err != nil {
		return nil, 0, err
	}
	if page < 1 {
		page = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only the first page*perPage matches in order are needed: keep them
	// in a sorted slice while scanning (most items fail the comparison
	// with the worst kept one), instead of sorting every match.
	k := page * perPage
	top := make([]*Item, 0, min(k, len(e.byID)))
	total := 0
	for _, it := range e.byID {
		if !it.written || !f.match(it) {
			continue
		}
		total++
		if len(top) == k && !newer(it, top[k-1]) {
			continue
		}
		at, _ := slices.BinarySearchFunc(top, it, func(a, b *Item) int {
			if newer(a, b) {
				return -1
			}
			return 1
		})
		if len(top) < k {
			top = append(top, nil)
		}
		copy(top[at+1:], top[at:len(top)-1])
		top[at] = it
	}
	from := min((page-1)*perPage, len(top))
	out := make([]Item, 0, len(top)-from)
	for _, it := range top[from:] {
		out = append(out, it.copy())
	}
	return out, total, nil
}

// newer orders items most recently seen first, then by id descending.
func newer(a, b *Item) bool {
	if a.LastOccurrenceTS != b.LastOccurrenceTS {
		return a.LastOccurrenceTS > b.LastOccurrenceTS
	}
	return a.ID > b.ID
}

// Get returns env's item by id.
func (s *Items) Get(ctx context.Context, env event.EnvID, id int64) (Item, error) {
	e, err := s.load(ctx, env)
	if err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := e.byID[id]
	if it == nil || !it.written {
		return Item{}, ErrItemNotFound
	}
	return it.copy(), nil
}

// ByCounter returns env's item by its counter.
func (s *Items) ByCounter(ctx context.Context, env event.EnvID, counter int64) (Item, error) {
	e, err := s.load(ctx, env)
	if err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := e.byCounter[counter]
	if it == nil || !it.written {
		return Item{}, ErrItemNotFound
	}
	return it.copy(), nil
}

// ItemPatch changes an item; nil fields stay.
type ItemPatch struct {
	Status            *string
	Level             *string
	Title             *string
	ResolvedInVersion *string
}

// Patch changes env's item id and returns it once the change is durable.
// The receipt time now (unix seconds) stamps status changes.
func (s *Items) Patch(ctx context.Context, env event.EnvID, id int64, p ItemPatch, now int64) (Item, error) {
	if _, err := s.load(ctx, env); err != nil {
		return Item{}, err
	}
	o := &op{env: env, done: make(chan struct{})}
	o.patch = func(e *envItems) (*Item, error) {
		it := e.byID[id]
		if it == nil || !it.written {
			return nil, ErrItemNotFound
		}
		if p.Status != nil && *p.Status != it.Status {
			it.Status = *p.Status
			switch it.Status {
			case StatusResolved:
				it.LastResolvedTS = now
			case StatusMuted:
				it.LastMutedTS = now
			case StatusActive:
				it.LastActivatedTS = now
			}
			if it.Status != StatusResolved {
				it.ResolvedInVersion = ""
			}
		}
		if p.ResolvedInVersion != nil && it.Status == StatusResolved {
			it.ResolvedInVersion = *p.ResolvedInVersion
		}
		if p.Level != nil {
			it.Level = *p.Level
		}
		if p.Title != nil {
			it.Title = *p.Title
		}
		o.patched = it.copy()
		return it, nil
	}
	if err := s.do(ctx, o); err != nil {
		return Item{}, err
	}
	if o.patched.ID == 0 {
		return Item{}, fmt.Errorf("rollbar items: patch lost")
	}
	return o.patched, nil
}
