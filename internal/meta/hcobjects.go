package meta

import (
	"context"
	"fmt"
	"time"
)

// Honeycomb's management objects (query annotations, boards, board views,
// markers, marker settings, triggers) are JSON documents kept in hc_objects
// under (environment, kind, id). Parent is what the object belongs to: a
// dataset slug, "__all__" for the environment, or a board id for a view. The
// typed kinds are in annotations.go, boards.go, markers.go and triggers.go;
// the documents' shapes are the Honeycomb API's (internal/honeycomb).

// Object is a row of hc_objects.
type Object struct {
	EnvID  int64
	Kind   string
	ID     string
	Parent string
	// Body is the object's JSON document.
	Body      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaxObjectBody bounds one object's JSON document.
const MaxObjectBody = 1 << 20

const objectCols = `env_id, kind, id, parent, body, created_at, updated_at`

func scanObject(s interface{ Scan(...any) error }) (Object, error) {
	var o Object
	var body string
	err := s.Scan(&o.EnvID, &o.Kind, &o.ID, &o.Parent, &body, &o.CreatedAt, &o.UpdatedAt)
	o.Body = []byte(body)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

func checkObject(o Object) error {
	if o.EnvID == 0 || o.Kind == "" || o.ID == "" {
		return fmt.Errorf("meta: object: environment, kind and id are required")
	}
	if len(o.Body) > MaxObjectBody || !validText(string(o.Body)) || !validText(o.ID) || !validText(o.Parent) {
		return fmt.Errorf("meta: %s %.40q: body too large or not valid UTF-8", o.Kind, o.ID)
	}
	return nil
}

// CreateObject stores a new object; the id must be new for its environment
// and kind. CreatedAt and UpdatedAt are set now.
func (db *DB) CreateObject(ctx context.Context, o Object) (Object, error) {
	if err := checkObject(o); err != nil {
		return Object{}, err
	}
	var out Object
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanObject(q.QueryRowContext(ctx,
			`INSERT INTO hc_objects (env_id, kind, id, parent, body, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+objectCols,
			o.EnvID, o.Kind, o.ID, o.Parent, string(o.Body), now()))
		return err
	})
	if err != nil {
		return Object{}, db.conflict(err, fmt.Sprintf("create %s %s", o.Kind, o.ID))
	}
	return out, nil
}

// Object returns one object of an environment; ErrNotFound if there is none.
func (db *DB) Object(ctx context.Context, envID int64, kind, id string) (Object, error) {
	o, err := scanObject(db.q.QueryRowContext(ctx,
		`SELECT `+objectCols+` FROM hc_objects WHERE env_id = $1 AND kind = $2 AND id = $3`, envID, kind, id))
	if err != nil {
		return Object{}, notFound(err, kind+" "+id)
	}
	return o, nil
}

// Objects lists an environment's objects of a kind under parent (every
// parent when parent is empty), oldest first.
func (db *DB) Objects(ctx context.Context, envID int64, kind, parent string) ([]Object, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+objectCols+` FROM hc_objects WHERE env_id = $1 AND kind = $2 AND ($3 = '' OR parent = $3)
		 ORDER BY created_at, id`, envID, kind, parent)
	if err != nil {
		return nil, fmt.Errorf("meta: list %s: %w", kind, err)
	}
	return collect(rows, scanObject, "list "+kind)
}

// AllObjects lists the objects of a kind in every environment, for
// background work such as the trigger engine.
func (db *DB) AllObjects(ctx context.Context, kind string) ([]Object, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+objectCols+` FROM hc_objects WHERE kind = $1 ORDER BY env_id, created_at, id`, kind)
	if err != nil {
		return nil, fmt.Errorf("meta: list %s: %w", kind, err)
	}
	return collect(rows, scanObject, "list "+kind)
}

// UpdateObject replaces an object's parent and body and stamps UpdatedAt;
// ErrNotFound if it does not exist.
func (db *DB) UpdateObject(ctx context.Context, o Object) (Object, error) {
	if err := checkObject(o); err != nil {
		return Object{}, err
	}
	var out Object
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanObject(q.QueryRowContext(ctx,
			`UPDATE hc_objects SET parent = $4, body = $5, updated_at = $6
			 WHERE env_id = $1 AND kind = $2 AND id = $3 RETURNING `+objectCols,
			o.EnvID, o.Kind, o.ID, o.Parent, string(o.Body), now()))
		return err
	})
	if err != nil {
		return Object{}, notFound(err, o.Kind+" "+o.ID)
	}
	return out, nil
}

// DeleteObject removes one object; ErrNotFound if it does not exist.
func (db *DB) DeleteObject(ctx context.Context, envID int64, kind, id string) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM hc_objects WHERE env_id = $1 AND kind = $2 AND id = $3`, envID, kind, id)
		if err != nil {
			return fmt.Errorf("meta: delete %s %s: %w", kind, id, err)
		}
		return affected(res, "delete "+kind+" "+id)
	})
}

// DeleteObjectsOf removes every object of a kind under parent (a board's
// views when the board goes).
func (db *DB) DeleteObjectsOf(ctx context.Context, envID int64, kind, parent string) error {
	return db.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM hc_objects WHERE env_id = $1 AND kind = $2 AND parent = $3`,
			envID, kind, parent); err != nil {
			return fmt.Errorf("meta: delete %s of %s: %w", kind, parent, err)
		}
		return nil
	})
}
