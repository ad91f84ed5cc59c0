package tenant

import (
	"context"
	"fmt"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// EnvironmentSpec describes an environment to create.
type EnvironmentSpec struct {
	Name string
	// Slug defaults to the name's slug.
	Slug            string
	Description     string
	Color           string
	DeleteProtected bool
}

// EnvironmentUpdate changes the non-nil fields of an environment. The slug
// never changes: clients address environments by it.
type EnvironmentUpdate struct {
	Name            *string
	Description     *string
	Color           *string
	DeleteProtected *bool
}

// Limits on environment fields.
const (
	MaxEnvironmentName = 255
	MaxDescription     = 1024
)

// Team returns a team by id.
func (s *Service) Team(ctx context.Context, id int64) (Team, error) {
	t, err := s.db.Team(ctx, id)
	if err != nil {
		return Team{}, fmt.Errorf("tenant: team: %w", fromMeta(err))
	}
	return teamFromMeta(t), nil
}

// TeamBySlug returns a team by slug.
func (s *Service) TeamBySlug(ctx context.Context, slug string) (Team, error) {
	t, err := s.db.TeamBySlug(ctx, slug)
	if err != nil {
		return Team{}, fmt.Errorf("tenant: team: %w", fromMeta(err))
	}
	return teamFromMeta(t), nil
}

// CreateEnvironment adds an environment to a team.
func (s *Service) CreateEnvironment(ctx context.Context, team int64, spec EnvironmentSpec) (Environment, error) {
	e, err := createEnvironment(ctx, s.db, team, spec)
	if err != nil {
		return Environment{}, err
	}
	s.changed(ctx, "create environment")
	return e, nil
}

func createEnvironment(ctx context.Context, db *meta.DB, team int64, spec EnvironmentSpec) (Environment, error) {
	name := strings.TrimSpace(spec.Name)
	if name == "" || len(name) > MaxEnvironmentName {
		return Environment{}, fmt.Errorf("tenant: create environment: %w: name must be 1 to %d characters", ErrInvalid, MaxEnvironmentName)
	}
	if len(spec.Description) > MaxDescription {
		return Environment{}, fmt.Errorf("tenant: create environment: %w: description longer than %d", ErrInvalid, MaxDescription)
	}
	slug := spec.Slug
	if slug == "" {
		slug = name
	}
	slug, err := event.Slug(slug)
	if err != nil {
		return Environment{}, fmt.Errorf("tenant: create environment: %w: bad slug", ErrInvalid)
	}
	if _, err := db.Team(ctx, team); err != nil {
		return Environment{}, fmt.Errorf("tenant: create environment: %w", fromMeta(err))
	}
	e, err := db.CreateEnvironment(ctx, meta.Environment{
		TeamID: team, Name: name, Slug: slug, Description: spec.Description,
		Color: spec.Color, DeleteProtected: spec.DeleteProtected,
	})
	if err != nil {
		return Environment{}, fmt.Errorf("tenant: create environment: %w", fromMeta(err))
	}
	return envFromMeta(e), nil
}

// Environment returns an environment by id.
func (s *Service) Environment(ctx context.Context, id event.EnvID) (Environment, error) {
	e, err := s.db.Environment(ctx, int64(id))
	if err != nil {
		return Environment{}, fmt.Errorf("tenant: environment: %w", fromMeta(err))
	}
	return envFromMeta(e), nil
}

// EnvironmentBySlug returns a team's environment by slug.
func (s *Service) EnvironmentBySlug(ctx context.Context, team int64, slug string) (Environment, error) {
	e, err := s.db.EnvironmentBySlug(ctx, team, slug)
	if err != nil {
		return Environment{}, fmt.Errorf("tenant: environment: %w", fromMeta(err))
	}
	return envFromMeta(e), nil
}

// Environments lists a team's environments.
func (s *Service) Environments(ctx context.Context, team int64) ([]Environment, error) {
	rows, err := s.db.Environments(ctx, team)
	if err != nil {
		return nil, fmt.Errorf("tenant: environments: %w", err)
	}
	out := make([]Environment, 0, len(rows))
	for _, r := range rows {
		out = append(out, envFromMeta(r))
	}
	return out, nil
}

// UpdateEnvironment changes an environment.
func (s *Service) UpdateEnvironment(ctx context.Context, id event.EnvID, u EnvironmentUpdate) (Environment, error) {
	mu := meta.EnvironmentUpdate{Description: u.Description, Color: u.Color, DeleteProtected: u.DeleteProtected}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if name == "" || len(name) > MaxEnvironmentName {
			return Environment{}, fmt.Errorf("tenant: update environment: %w: name must be 1 to %d characters", ErrInvalid, MaxEnvironmentName)
		}
		mu.Name = &name
	}
	if u.Description != nil && len(*u.Description) > MaxDescription {
		return Environment{}, fmt.Errorf("tenant: update environment: %w: description longer than %d", ErrInvalid, MaxDescription)
	}
	e, err := s.db.UpdateEnvironment(ctx, int64(id), mu)
	if err != nil {
		return Environment{}, fmt.Errorf("tenant: update environment: %w", fromMeta(err))
	}
	s.changed(ctx, "update environment")
	return envFromMeta(e), nil
}

// DeleteEnvironment deletes an environment with its keys and AWS
// credentials, which stop working at once. It refuses a delete-protected
// environment with ErrDeleteProtected. The environment's datasets live in the
// event store: the caller deletes them.
func (s *Service) DeleteEnvironment(ctx context.Context, id event.EnvID) error {
	e, err := s.Environment(ctx, id)
	if err != nil {
		return err
	}
	if e.DeleteProtected {
		return fmt.Errorf("tenant: delete environment %s: %w", e.Slug, ErrDeleteProtected)
	}
	s.revoke(func(p *Principal) bool { return p.Env.ID == id })
	err = s.db.DeleteEnvironment(ctx, int64(id))
	s.changed(ctx, "delete environment")
	if err != nil {
		return fmt.Errorf("tenant: delete environment: %w", fromMeta(err))
	}
	return nil
}
