package meta

import (
	"context"
	"database/sql"
	"fmt"
)

// AWS X-Ray metadata (internal/xray): groups and sampling rules, per
// environment. Times are epoch seconds (float), as the X-Ray API reports
// them. Sampling rules and groups change rarely; readers cache them.

// XRayGroup is an X-Ray group: a name for a filter expression, evaluated
// when a query names the group (so it applies to every stored trace).
type XRayGroup struct {
	Env                  int64
	Name                 string
	ARNSuffix            string
	FilterExpression     string
	InsightsEnabled      bool
	NotificationsEnabled bool
	// Tags is a JSON array of {Key, Value}.
	Tags      string
	CreatedAt float64
	UpdatedAt float64
}

// XRaySamplingRule is a sampling rule as the X-Ray API describes it.
type XRaySamplingRule struct {
	Env           int64
	Name          string
	ResourceARN   string
	Priority      int
	FixedRate     float64
	ReservoirSize int
	ServiceName   string
	ServiceType   string
	Host          string
	HTTPMethod    string
	URLPath       string
	Version       int
	// Attributes is a JSON object of string to string.
	Attributes string
	CreatedAt  float64
	ModifiedAt float64
}

const xrayGroupCols = `env_id, name, arn_suffix, filter_expression, insights_enabled, notifications, tags, created_at, updated_at`

func scanXRayGroup(sc interface{ Scan(...any) error }) (XRayGroup, error) {
	var g XRayGroup
	err := sc.Scan(&g.Env, &g.Name, &g.ARNSuffix, &g.FilterExpression, &g.InsightsEnabled, &g.NotificationsEnabled, &g.Tags, &g.CreatedAt, &g.UpdatedAt)
	return g, err
}

// CreateXRayGroup stores a new group; ErrConflict if the name is taken.
func (db *DB) CreateXRayGroup(ctx context.Context, g XRayGroup) error {
	if !validText(g.Name) || !validText(g.FilterExpression) || !validText(g.Tags) {
		return fmt.Errorf("meta: x-ray group: not valid UTF-8")
	}
	return db.Tx(ctx, func(tx *DB) error {
		var n int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM xray_groups WHERE env_id = $1 AND name = $2`, g.Env, g.Name).Scan(&n); err != nil {
			return fmt.Errorf("meta: x-ray group %s: %w", g.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("meta: x-ray group %s: %w", g.Name, ErrConflict)
		}
		_, err := tx.q.ExecContext(ctx, `INSERT INTO xray_groups (`+xrayGroupCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			g.Env, g.Name, g.ARNSuffix, g.FilterExpression, g.InsightsEnabled, g.NotificationsEnabled, g.Tags, g.CreatedAt, g.UpdatedAt)
		if err != nil {
			return fmt.Errorf("meta: create x-ray group %s: %w", g.Name, err)
		}
		return nil
	})
}

// XRayGroup returns one group; ErrNotFound if there is none.
func (db *DB) XRayGroup(ctx context.Context, env int64, name string) (XRayGroup, error) {
	g, err := scanXRayGroup(db.q.QueryRowContext(ctx, `SELECT `+xrayGroupCols+` FROM xray_groups WHERE env_id = $1 AND name = $2`, env, name))
	if err != nil {
		return XRayGroup{}, notFound(err, "x-ray group "+name)
	}
	return g, nil
}

// XRayGroups lists an environment's groups by name.
func (db *DB) XRayGroups(ctx context.Context, env int64) ([]XRayGroup, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+xrayGroupCols+` FROM xray_groups WHERE env_id = $1 ORDER BY name`, env)
	if err != nil {
		return nil, fmt.Errorf("meta: x-ray groups: %w", err)
	}
	defer rows.Close()
	var out []XRayGroup
	for rows.Next() {
		g, err := scanXRayGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("meta: x-ray groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UpdateXRayGroup replaces a group's filter expression and insights
// settings; ErrNotFound if there is none.
func (db *DB) UpdateXRayGroup(ctx context.Context, g XRayGroup) error {
	if !validText(g.FilterExpression) {
		return fmt.Errorf("meta: x-ray group: not valid UTF-8")
	}
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE xray_groups SET filter_expression = $3, insights_enabled = $4, notifications = $5, updated_at = $6
			WHERE env_id = $1 AND name = $2`, g.Env, g.Name, g.FilterExpression, g.InsightsEnabled, g.NotificationsEnabled, g.UpdatedAt)
		if err != nil {
			return fmt.Errorf("meta: update x-ray group %s: %w", g.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("meta: x-ray group %s: %w", g.Name, ErrNotFound)
		}
		return nil
	})
}

// DeleteXRayGroup removes a group; ErrNotFound if there is none.
func (db *DB) DeleteXRayGroup(ctx context.Context, env int64, name string) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM xray_groups WHERE env_id = $1 AND name = $2`, env, name)
		if err != nil {
			return fmt.Errorf("meta: delete x-ray group %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("meta: x-ray group %s: %w", name, ErrNotFound)
		}
		return nil
	})
}

const xrayRuleCols = `env_id, name, resource_arn, priority, fixed_rate, reservoir_size, service_name, service_type, host, http_method, url_path, version, attributes, created_at, modified_at`

func scanXRayRule(sc interface{ Scan(...any) error }) (XRaySamplingRule, error) {
	var r XRaySamplingRule
	err := sc.Scan(&r.Env, &r.Name, &r.ResourceARN, &r.Priority, &r.FixedRate, &r.ReservoirSize, &r.ServiceName, &r.ServiceType,
		&r.Host, &r.HTTPMethod, &r.URLPath, &r.Version, &r.Attributes, &r.CreatedAt, &r.ModifiedAt)
	return r, err
}

func (r XRaySamplingRule) valid() bool {
	for _, s := range []string{r.Name, r.ResourceARN, r.ServiceName, r.ServiceType, r.Host, r.HTTPMethod, r.URLPath, r.Attributes} {
		if !validText(s) {
			return false
		}
	}
	return true
}

// CreateXRaySamplingRule stores a new rule; ErrConflict if the name is
// taken.
func (db *DB) CreateXRaySamplingRule(ctx context.Context, r XRaySamplingRule) error {
	if !r.valid() {
		return fmt.Errorf("meta: x-ray sampling rule: not valid UTF-8")
	}
	return db.Tx(ctx, func(tx *DB) error {
		var n int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM xray_sampling_rules WHERE env_id = $1 AND name = $2`, r.Env, r.Name).Scan(&n); err != nil {
			return fmt.Errorf("meta: x-ray sampling rule %s: %w", r.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("meta: x-ray sampling rule %s: %w", r.Name, ErrConflict)
		}
		_, err := tx.q.ExecContext(ctx, `INSERT INTO xray_sampling_rules (`+xrayRuleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			r.Env, r.Name, r.ResourceARN, r.Priority, r.FixedRate, r.ReservoirSize, r.ServiceName, r.ServiceType, r.Host, r.HTTPMethod, r.URLPath,
			r.Version, r.Attributes, r.CreatedAt, r.ModifiedAt)
		if err != nil {
			return fmt.Errorf("meta: create x-ray sampling rule %s: %w", r.Name, err)
		}
		return nil
	})
}

// XRaySamplingRule returns one rule; ErrNotFound if there is none.
func (db *DB) XRaySamplingRule(ctx context.Context, env int64, name string) (XRaySamplingRule, error) {
	r, err := scanXRayRule(db.q.QueryRowContext(ctx, `SELECT `+xrayRuleCols+` FROM xray_sampling_rules WHERE env_id = $1 AND name = $2`, env, name))
	if err != nil {
		return XRaySamplingRule{}, notFound(err, "x-ray sampling rule "+name)
	}
	return r, nil
}

// XRaySamplingRules lists an environment's rules by priority, then name.
func (db *DB) XRaySamplingRules(ctx context.Context, env int64) ([]XRaySamplingRule, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+xrayRuleCols+` FROM xray_sampling_rules WHERE env_id = $1 ORDER BY priority, name`, env)
	if err != nil {
		return nil, fmt.Errorf("meta: x-ray sampling rules: %w", err)
	}
	defer rows.Close()
	var out []XRaySamplingRule
	for rows.Next() {
		r, err := scanXRayRule(rows)
		if err != nil {
			return nil, fmt.Errorf("meta: x-ray sampling rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateXRaySamplingRule replaces a rule (found by Env and Name);
// ErrNotFound if there is none.
func (db *DB) UpdateXRaySamplingRule(ctx context.Context, r XRaySamplingRule) error {
	if !r.valid() {
		return fmt.Errorf("meta: x-ray sampling rule: not valid UTF-8")
	}
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE xray_sampling_rules SET resource_arn = $3, priority = $4, fixed_rate = $5, reservoir_size = $6,
			service_name = $7, service_type = $8, host = $9, http_method = $10, url_path = $11, version = $12, attributes = $13, modified_at = $14
			WHERE env_id = $1 AND name = $2`,
			r.Env, r.Name, r.ResourceARN, r.Priority, r.FixedRate, r.ReservoirSize, r.ServiceName, r.ServiceType, r.Host, r.HTTPMethod,
			r.URLPath, r.Version, r.Attributes, r.ModifiedAt)
		if err != nil {
			return fmt.Errorf("meta: update x-ray sampling rule %s: %w", r.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("meta: x-ray sampling rule %s: %w", r.Name, ErrNotFound)
		}
		return nil
	})
}

// DeleteXRaySamplingRule removes a rule; ErrNotFound if there is none.
func (db *DB) DeleteXRaySamplingRule(ctx context.Context, env int64, name string) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM xray_sampling_rules WHERE env_id = $1 AND name = $2`, env, name)
		if err != nil {
			return fmt.Errorf("meta: delete x-ray sampling rule %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("meta: x-ray sampling rule %s: %w", name, ErrNotFound)
		}
		return nil
	})
}

var _ = sql.ErrNoRows
