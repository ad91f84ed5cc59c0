package meta

import (
	"context"
	"fmt"
	"time"
)

// Team is a row of teams: the top of the tenancy tree.
type Team struct {
	ID        int64
	Name      string
	Slug      string
	CreatedAt time.Time
}

const teamCols = `id, name, slug, created_at`

func scanTeam(s interface{ Scan(...any) error }) (Team, error) {
	var t Team
	err := s.Scan(&t.ID, &t.Name, &t.Slug, &t.CreatedAt)
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

// CreateTeam adds a team. It returns ErrConflict if the slug is taken.
func (db *DB) CreateTeam(ctx context.Context, name, slug string) (Team, error) {
	var t Team
	err := db.writeTenancy(ctx, func(q querier) error {
		var err error
		t, err = scanTeam(q.QueryRowContext(ctx,
			`INSERT INTO teams (name, slug, created_at) VALUES ($1, $2, $3) RETURNING `+teamCols,
			name, slug, now()))
		return err
	})
	if err != nil {
		return Team{}, db.conflict(err, "create team "+slug)
	}
	return t, nil
}

// Team returns a team by id.
func (db *DB) Team(ctx context.Context, id int64) (Team, error) {
	t, err := scanTeam(db.q.QueryRowContext(ctx, `SELECT `+teamCols+` FROM teams WHERE id = $1`, id))
	if err != nil {
		return Team{}, notFound(err, fmt.Sprintf("team %d", id))
	}
	return t, nil
}

// TeamBySlug returns a team by slug.
func (db *DB) TeamBySlug(ctx context.Context, slug string) (Team, error) {
	t, err := scanTeam(db.q.QueryRowContext(ctx, `SELECT `+teamCols+` FROM teams WHERE slug = $1`, slug))
	if err != nil {
		return Team{}, notFound(err, "team "+slug)
	}
	return t, nil
}

// Teams lists every team ordered by id.
func (db *DB) Teams(ctx context.Context) ([]Team, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+teamCols+` FROM teams ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list teams: %w", err)
	}
	return collect(rows, scanTeam, "list teams")
}
