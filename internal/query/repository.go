package query

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// SavedQuery is an immutable query: a validated spec in canonical form, kept
// under an ID derived from it.
type SavedQuery struct {
	ID string
	// Dataset is the slug of the dataset the query was created for, or
	// event.AllDatasets.
	Dataset string
	// Spec is the canonical JSON of the spec.
	Spec      []byte
	CreatedAt time.Time
}

// Parse decodes the saved spec.
func (q SavedQuery) Parse() (*Spec, error) {
	s, err := ParseSpec(q.Spec)
	if err != nil {
		return nil, fmt.Errorf("saved query %s: %w", q.ID, err)
	}
	return s, nil
}

// Repository keeps saved queries. Implementations are safe for concurrent
// use. Saving is idempotent: saving a query whose ID exists for the same
// environment and dataset keeps and returns the existing one.
type Repository interface {
	SaveQuery(ctx context.Context, env event.EnvID, q SavedQuery) (SavedQuery, error)
	// LoadQuery returns an error wrapping ErrQueryNotFound for an unknown ID.
	LoadQuery(ctx context.Context, env event.EnvID, dataset, id string) (SavedQuery, error)
}

// MemoryRepository is a Repository in memory. It holds at most MaxBytes of
// specs, forgetting the oldest queries beyond that; a persistent Repository
// replaces it where queries must outlive the process.
type MemoryRepository struct {
	// MaxBytes bounds the specs kept; zero means 64 MiB.
	MaxBytes int

	mu    sync.Mutex
	byKey map[repoKey]SavedQuery
	order []repoKey
	bytes int
}

type repoKey struct {
	env     event.EnvID
	dataset string
	id      string
}

// NewMemoryRepository returns an empty MemoryRepository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{byKey: map[repoKey]SavedQuery{}}
}

// SaveQuery implements Repository.
func (r *MemoryRepository) SaveQuery(_ context.Context, env event.EnvID, q SavedQuery) (SavedQuery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey == nil {
		r.byKey = map[repoKey]SavedQuery{}
	}
	k := repoKey{env, q.Dataset, q.ID}
	if old, ok := r.byKey[k]; ok {
		return old, nil
	}
	q.Spec = append([]byte(nil), q.Spec...)
	r.byKey[k] = q
	r.order = append(r.order, k)
	r.bytes += len(q.Spec)
	max := r.MaxBytes
	if max <= 0 {
		max = 64 << 20
	}
	for r.bytes > max && len(r.order) > 1 {
		old := r.order[0]
		r.order = r.order[1:]
		r.bytes -= len(r.byKey[old].Spec)
		delete(r.byKey, old)
	}
	return q, nil
}

// LoadQuery implements Repository.
func (r *MemoryRepository) LoadQuery(_ context.Context, env event.EnvID, dataset, id string) (SavedQuery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.byKey[repoKey{env, dataset, id}]
	if !ok {
		return SavedQuery{}, fmt.Errorf("query %q: %w", id, ErrQueryNotFound)
	}
	return q, nil
}
