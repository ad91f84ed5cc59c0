package tenant

import (
	"context"
	"fmt"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// DatasetSettings are a dataset's settings that the event store does not
// keep; the metadata database holds them, keyed by environment and slug.
type DatasetSettings struct {
	// DeleteProtected datasets cannot be deleted until it is cleared.
	DeleteProtected bool
	// ExpandJSONDepth is Honeycomb's expand_json_depth, 0..MaxExpandJSONDepth.
	ExpandJSONDepth int
}

// MaxExpandJSONDepth is the largest expand_json_depth Honeycomb accepts.
const MaxExpandJSONDepth = 10

// DatasetSettings returns a dataset's settings; a dataset never configured
// has the zero settings.
func (s *Service) DatasetSettings(ctx context.Context, env event.EnvID, slug string) (DatasetSettings, error) {
	ds, err := s.db.DatasetSettings(ctx, int64(env), slug)
	if err != nil {
		return DatasetSettings{}, fmt.Errorf("tenant: dataset settings: %w", err)
	}
	return DatasetSettings{DeleteProtected: ds.DeleteProtected, ExpandJSONDepth: ds.ExpandJSONDepth}, nil
}

// SetDatasetSettings stores a dataset's settings.
func (s *Service) SetDatasetSettings(ctx context.Context, env event.EnvID, slug string, ds DatasetSettings) error {
	if ds.ExpandJSONDepth < 0 || ds.ExpandJSONDepth > MaxExpandJSONDepth {
		return fmt.Errorf("tenant: dataset settings: %w: expand_json_depth must be 0 to %d", ErrInvalid, MaxExpandJSONDepth)
	}
	err := s.db.PutDatasetSettings(ctx, meta.DatasetSettings{
		EnvID: int64(env), Slug: slug, DeleteProtected: ds.DeleteProtected, ExpandJSONDepth: ds.ExpandJSONDepth,
	})
	if err != nil {
		return fmt.Errorf("tenant: dataset settings: %w", err)
	}
	return nil
}

// DeleteDatasetSettings forgets a deleted dataset's settings.
func (s *Service) DeleteDatasetSettings(ctx context.Context, env event.EnvID, slug string) error {
	if err := s.db.DeleteDatasetSettings(ctx, int64(env), slug); err != nil {
		return fmt.Errorf("tenant: dataset settings: %w", err)
	}
	return nil
}
