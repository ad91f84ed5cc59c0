package meta

import (
	"context"
	"fmt"
	"time"
)

// Environment is a row of environments. Datasets live in the event store,
// keyed by the environment's ID.
type Environment struct {
	ID              int64
	TeamID          int64
	Name            string
	Slug            string
	Description     string
	Color           string
	DeleteProtected bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// EnvironmentUpdate changes the non-nil fields of an environment.
type EnvironmentUpdate struct {
	Name            *string
	Description     *string
	Color           *string
	DeleteProtected *bool
}

const envCols = `id, team_id, name, slug, description, color, delete_protected, created_at, updated_at`

func scanEnv(s interface{ Scan(...any) error }) (Environment, error) {
	var e Environment
	err := s.Scan(&e.ID, &e.TeamID, &e.Name, &e.Slug, &e.Description, &e.Color, &e.DeleteProtected, &e.CreatedAt, &e.UpdatedAt)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, err
}

// CreateEnvironment adds an environment to a team. It returns ErrConflict if
// the team has an environment with the same slug.
func (db *DB) CreateEnvironment(ctx context.Context, e Environment) (Environment, error) {
	var out Environment
	err := db.writeTenancy(ctx, func(q querier) error {
		t := now()
		var err error
		out, err = scanEnv(q.QueryRowContext(ctx,
			`INSERT INTO environments (team_id, name, slug, description, color, delete_protected, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+envCols,
			e.TeamID, e.Name, e.Slug, e.Description, e.Color, e.DeleteProtected, t))
		return err
	})
	if err != nil {
		return Environment{}, db.conflict(err, "create environment "+e.Slug)
	}
	return out, nil
}

// Environment returns an environment by id.
func (db *DB) Environment(ctx context.Context, id int64) (Environment, error) {
	e, err := scanEnv(db.q.QueryRowContext(ctx, `SELECT `+envCols+` FROM environments WHERE id = $1`, id))
	if err != nil {
		return Environment{}, notFound(err, fmt.Sprintf("environment %d", id))
	}
	return e, nil
}

// EnvironmentBySlug returns a team's environment by slug.
func (db *DB) EnvironmentBySlug(ctx context.Context, teamID int64, slug string) (Environment, error) {
	e, err := scanEnv(db.q.QueryRowContext(ctx,
		`SELECT `+envCols+` FROM environments WHERE team_id = $1 AND slug = $2`, teamID, slug))
	if err != nil {
		return Environment{}, notFound(err, "environment "+slug)
	}
	return e, nil
}

// Environments lists a team's environments ordered by id.
func (db *DB) Environments(ctx context.Context, teamID int64) ([]Environment, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+envCols+` FROM environments WHERE team_id = $1 ORDER BY id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("meta: list environments: %w", err)
	}
	return collect(rows, scanEnv, "list environments")
}

// AllEnvironments lists every environment of every team ordered by id.
func (db *DB) AllEnvironments(ctx context.Context) ([]Environment, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+envCols+` FROM environments ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list environments: %w", err)
	}
	return collect(rows, scanEnv, "list environments")
}

// UpdateEnvironment changes an environment and returns it.
func (db *DB) UpdateEnvironment(ctx context.Context, id int64, u EnvironmentUpdate) (Environment, error) {
	var out Environment
	err := db.txTenancy(ctx, func(tx *DB) error {
		e, err := tx.Environment(ctx, id)
		if err != nil {
			return err
		}
		setIf(&e.Name, u.Name)
		setIf(&e.Description, u.Description)
		setIf(&e.Color, u.Color)
		setIf(&e.DeleteProtected, u.DeleteProtected)
		out, err = scanEnv(tx.q.QueryRowContext(ctx,
			`UPDATE environments SET name = $2, description = $3, color = $4, delete_protected = $5, updated_at = $6
			 WHERE id = $1 RETURNING `+envCols,
			id, e.Name, e.Description, e.Color, e.DeleteProtected, now()))
		if err != nil {
			return notFound(err, fmt.Sprintf("update environment %d", id))
		}
		return nil
	})
	return out, err
}

// DeleteEnvironment removes an environment with its API keys, AWS credentials
// and dataset settings. The caller removes its datasets from the event store.
func (db *DB) DeleteEnvironment(ctx context.Context, id int64) error {
	return db.txTenancy(ctx, func(tx *DB) error {
		for _, table := range []string{"api_keys", "aws_credentials", "dataset_settings"} {
			if _, err := tx.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE env_id = $1`, id); err != nil {
				return fmt.Errorf("meta: delete environment %d: %s: %w", id, table, err)
			}
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM environments WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("meta: delete environment %d: %w", id, err)
		}
		return affected(res, fmt.Sprintf("delete environment %d", id))
	})
}

// setIf sets *dst to *src when src is not nil.
func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
