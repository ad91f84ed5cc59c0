package meta

import (
	"context"
	"fmt"
	"time"
)

// RollbarDeploy is a row of rollbar_deploys. Times are unix seconds.
type RollbarDeploy struct {
	ID              int64
	EnvID           int64
	Environment     string
	Revision        string
	LocalUsername   string
	RollbarUsername string
	Comment         string
	Status          string
	StartTime       int64
	FinishTime      int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

const rollbarDeployCols = `id, env_id, environment, revision, local_username, rollbar_username,
	comment, status, start_time, finish_time, created_at, updated_at`

func scanRollbarDeploy(s interface{ Scan(...any) error }) (RollbarDeploy, error) {
	var d RollbarDeploy
	err := s.Scan(&d.ID, &d.EnvID, &d.Environment, &d.Revision, &d.LocalUsername, &d.RollbarUsername,
		&d.Comment, &d.Status, &d.StartTime, &d.FinishTime, &d.CreatedAt, &d.UpdatedAt)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, err
}

// CreateRollbarDeploy records a deploy and returns it with its id.
func (db *DB) CreateRollbarDeploy(ctx context.Context, d RollbarDeploy) (RollbarDeploy, error) {
	var out RollbarDeploy
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanRollbarDeploy(q.QueryRowContext(ctx,
			`INSERT INTO rollbar_deploys (env_id, environment, revision, local_username, rollbar_username,
				comment, status, start_time, finish_time, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING `+rollbarDeployCols,
			d.EnvID, d.Environment, d.Revision, d.LocalUsername, d.RollbarUsername, d.Comment,
			d.Status, d.StartTime, d.FinishTime, now()))
		return err
	})
	if err != nil {
		return RollbarDeploy{}, fmt.Errorf("meta: create Rollbar deploy: %w", err)
	}
	return out, nil
}

// RollbarDeploy returns an environment's deploy by id.
func (db *DB) RollbarDeploy(ctx context.Context, envID, id int64) (RollbarDeploy, error) {
	d, err := scanRollbarDeploy(db.q.QueryRowContext(ctx,
		`SELECT `+rollbarDeployCols+` FROM rollbar_deploys WHERE env_id = $1 AND id = $2`, envID, id))
	if err != nil {
		return RollbarDeploy{}, notFound(err, fmt.Sprintf("Rollbar deploy %d", id))
	}
	return d, nil
}

// RollbarDeploys lists an environment's deploys, newest first, skipping
// offset and returning at most limit.
func (db *DB) RollbarDeploys(ctx context.Context, envID int64, offset, limit int) ([]RollbarDeploy, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+rollbarDeployCols+` FROM rollbar_deploys WHERE env_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`,
		envID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("meta: list Rollbar deploys: %w", err)
	}
	return collect(rows, scanRollbarDeploy, "list Rollbar deploys")
}

// UpdateRollbarDeployStatus sets a deploy's status and finish time.
func (db *DB) UpdateRollbarDeployStatus(ctx context.Context, envID, id int64, status string, finish int64) (RollbarDeploy, error) {
	var out RollbarDeploy
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanRollbarDeploy(q.QueryRowContext(ctx,
			`UPDATE rollbar_deploys SET status = $3, finish_time = $4, updated_at = $5
			 WHERE env_id = $1 AND id = $2 RETURNING `+rollbarDeployCols,
			envID, id, status, finish, now()))
		return err
	})
	if err != nil {
		return RollbarDeploy{}, notFound(err, fmt.Sprintf("update Rollbar deploy %d", id))
	}
	return out, nil
}
