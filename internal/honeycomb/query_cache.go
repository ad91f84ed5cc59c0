package honeycomb

import (
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Bounds of the query result cache.
const (
	// defaultResultBytes bounds the encoded results kept in memory.
	defaultResultBytes = 256 << 20
	// defaultResultTTL is how long a result stays readable, matching the
	// Cache-Control max-age Honeycomb sends.
	defaultResultTTL = 24 * time.Hour
)

// storedResult is one completed query run.
type storedResult struct {
	env     event.EnvID
	dataset string // slug or __all__
	id      string
	query   queryObject
	data    []byte // encoded query.Output
	created time.Time
}

// resultCache keeps query results in memory for GET, forgetting the oldest
// beyond a byte budget and any older than a TTL. It is safe for concurrent
// use. It is only a cache: a result another node ran, or one forgotten, is
// computed again from its id (query_ids.go) until the TTL.
type resultCache struct {
	maxBytes int
	ttl      time.Duration

	mu    sync.Mutex
	byKey map[resultKey]*storedResult
	order []*storedResult
	bytes int

	// keys is the HMAC key of result ids (query_ids.go).
	keys resultKeys
}

type resultKey struct {
	env     event.EnvID
	dataset string
	id      string
}

func newResultCache(maxBytes int, ttl time.Duration) *resultCache {
	return &resultCache{maxBytes: maxBytes, ttl: ttl, byKey: map[resultKey]*storedResult{}}
}

// put adds a result, evicting the oldest ones over budget. A result larger
// than the whole budget is still kept, alone.
func (c *resultCache) put(r *storedResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := resultKey{r.env, r.dataset, r.id}
	if c.byKey[k] != nil {
		return // the same id names the same result
	}
	c.byKey[k] = r
	c.order = append(c.order, r)
	c.bytes += len(r.data)
	for c.bytes > c.maxBytes && len(c.order) > 1 {
		c.evictOldest()
	}
}

// get returns a result younger than the TTL, or nil.
func (c *resultCache) get(env event.EnvID, dataset, id string, now time.Time) *storedResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.order) > 0 && now.Sub(c.order[0].created) > c.ttl {
		c.evictOldest()
	}
	r := c.byKey[resultKey{env, dataset, id}]
	if r == nil || now.Sub(r.created) > c.ttl {
		// Results computed again on this node are not in creation order.
		return nil
	}
	return r
}

// evictOldest drops the oldest result; c.mu is held.
func (c *resultCache) evictOldest() {
	old := c.order[0]
	c.order[0] = nil
	c.order = c.order[1:]
	c.bytes -= len(old.data)
	if k := (resultKey{old.env, old.dataset, old.id}); c.byKey[k] == old {
		delete(c.byKey, k)
	}
}
