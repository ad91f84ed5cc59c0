package honeycomb

import (
	"context"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// The events API needs each request's dataset's expand_json_depth, which
// the metadata database keeps (tenant.DatasetSettings). expandCache keeps it
// in memory so that ingest does not query the database per request:
//
//   - a change through this node's dataset API (create, update, delete)
//     takes effect at once: the entry is forgotten;
//   - a change made by another node sharing the metadata database takes
//     effect within expandTTL, when the entry is read again;
//   - when the database cannot be read, a stale entry is used; with none,
//     the request is answered 503 (libhoney clients retry).

// expandTTL is how long a dataset's setting is used before it is read again.
const expandTTL = 10 * time.Second

// maxExpandEntries bounds the cache; when full it starts afresh.
const maxExpandEntries = 1 << 16

type expandKey struct {
	env  event.EnvID
	slug string
}

type expandEntry struct {
	depth int
	read  time.Time
}

// expandCache is safe for concurrent use; its zero value is empty.
type expandCache struct {
	mu sync.Mutex
	m  map[expandKey]expandEntry
}

func (c *expandCache) get(k expandKey) (expandEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *expandCache) put(k expandKey, e expandEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxExpandEntries {
		c.m = map[expandKey]expandEntry{}
	}
	c.m[k] = e
}

// forget drops a dataset's entry after its settings changed.
func (c *expandCache) forget(env event.EnvID, slug string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, expandKey{env, slug})
}

// expandDepth returns the expand_json_depth of dataset (a name from the
// path) in env: 0 when the server keeps no dataset settings.
func (a *API) expandDepth(ctx context.Context, env event.EnvID, dataset string) (int, error) {
	adm := a.admin()
	if adm == nil {
		return 0, nil
	}
	slug, err := event.Slug(dataset)
	if err != nil {
		return 0, nil // refused elsewhere
	}
	k := expandKey{env, slug}
	now := time.Now()
	e, ok := a.expandCache.get(k)
	if ok && now.Sub(e.read) < expandTTL {
		return e.depth, nil
	}
	s, err := adm.DatasetSettings(ctx, env, slug)
	if err != nil {
		if ok {
			a.Log.Warn("honeycomb events: dataset settings unreadable, using the last known", "dataset", slug, "err", err)
			return e.depth, nil
		}
		return 0, err
	}
	depth := min(max(s.ExpandJSONDepth, 0), tenant.MaxExpandJSONDepth)
	a.expandCache.put(k, expandEntry{depth: depth, read: now})
	return depth, nil
}

// setDatasetSettings stores a dataset's settings and forgets the cached
// expand_json_depth.
func (a *API) setDatasetSettings(ctx context.Context, env event.EnvID, slug string, s tenant.DatasetSettings) error {
	err := a.admin().SetDatasetSettings(ctx, env, slug, s)
	a.expandCache.forget(env, slug)
	return err
}
