package meta

import (
	"context"
	"fmt"
)

// migration is one schema version. Its statements run in one transaction, and
// applying it records its version in schema_migrations. Released migrations
// are never edited: a change is a new migration.
type migration struct {
	version int64
	name    string
	stmts   []string
}

// migrations lists every schema version in order. The statements are plain
// SQL that DuckDB and PostgreSQL both accept.
//
// There are no FOREIGN KEY constraints: DuckDB checks them against the state
// before the transaction, so deleting an environment's keys and then the
// environment in one transaction fails there. The code keeps the references
// whole instead (DeleteEnvironment removes what belongs to the environment).
var migrations = []migration{
	{version: 1, name: "tenancy", stmts: []string{
		`CREATE SEQUENCE teams_id_seq START 1`,
		`CREATE TABLE teams (
			id         BIGINT PRIMARY KEY DEFAULT nextval('teams_id_seq'),
			name       TEXT NOT NULL,
			slug       TEXT NOT NULL UNIQUE,
			created_at TIMESTAMPTZ NOT NULL
		)`,
		`CREATE SEQUENCE environments_id_seq START 1`,
		`CREATE TABLE environments (
			id               BIGINT PRIMARY KEY DEFAULT nextval('environments_id_seq'),
			team_id          BIGINT NOT NULL,
			name             TEXT NOT NULL,
			slug             TEXT NOT NULL,
			description      TEXT NOT NULL DEFAULT '',
			color            TEXT NOT NULL DEFAULT '',
			delete_protected BOOLEAN NOT NULL DEFAULT FALSE,
			created_at       TIMESTAMPTZ NOT NULL,
			updated_at       TIMESTAMPTZ NOT NULL,
			UNIQUE (team_id, slug)
		)`,
		// kind tells which protocol a key is for ("api" for waggle/Honeycomb
		// keys; Rollbar access tokens will be another kind). Every kind is a
		// random bearer secret stored as its SHA-256 hash.
		`CREATE TABLE api_keys (
			id          TEXT PRIMARY KEY,
			env_id      BIGINT NOT NULL,
			kind        TEXT NOT NULL,
			name        TEXT NOT NULL,
			secret_hash BYTEA NOT NULL UNIQUE,
			permissions TEXT NOT NULL,
			disabled    BOOLEAN NOT NULL DEFAULT FALSE,
			created_at  TIMESTAMPTZ NOT NULL,
			updated_at  TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX api_keys_env_idx ON api_keys (env_id)`,
		// secret_sealed is AES-256-GCM ciphertext (see crypto.go).
		`CREATE TABLE aws_credentials (
			access_key_id TEXT PRIMARY KEY,
			env_id        BIGINT NOT NULL,
			secret_sealed BYTEA NOT NULL,
			created_at    TIMESTAMPTZ NOT NULL,
			updated_at    TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX aws_credentials_env_idx ON aws_credentials (env_id)`,
		// Dataset settings the event store does not keep.
		`CREATE TABLE dataset_settings (
			env_id            BIGINT NOT NULL,
			slug              TEXT NOT NULL,
			delete_protected  BOOLEAN NOT NULL DEFAULT FALSE,
			expand_json_depth INTEGER NOT NULL DEFAULT 0,
			updated_at        TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (env_id, slug)
		)`,
		// Server-wide state, such as whether bootstrap has run.
		`CREATE TABLE settings (
			name       TEXT PRIMARY KEY,
			value      TEXT NOT NULL,
			updated_at TIMESTAMPTZ NOT NULL
		)`,
	}},
	// Coordination between nodes sharing a database: change counters that
	// caches poll (changes.go) and leases (lease.go).
	{version: 2, name: "scale-out", stmts: []string{
		`CREATE TABLE change_counters (
			topic   TEXT PRIMARY KEY,
			version BIGINT NOT NULL
		)`,
		// expires_us is the database server's clock (microseconds since the
		// epoch), so the nodes' clocks need not agree.
		`CREATE TABLE leases (
			name        TEXT PRIMARY KEY,
			holder      TEXT NOT NULL,
			expires_us  BIGINT NOT NULL,
			acquired_at TIMESTAMPTZ NOT NULL
		)`,
	}},
	// Rollbar compatibility (internal/rollbar) and notification delivery
	// (internal/notify). See meta/rollbar_*.go and meta/notify_*.go.
	{version: 3, name: "rollbar-notify", stmts: []string{
		// Rollbar access tokens: bearer secrets with Rollbar's scopes
		// (post_server_item, post_client_item, read, write), stored as their
		// SHA-256 hash, one environment each.
		`CREATE TABLE rollbar_tokens (
			id          TEXT PRIMARY KEY,
			env_id      BIGINT NOT NULL,
			name        TEXT NOT NULL,
			secret_hash BYTEA NOT NULL UNIQUE,
			scopes      TEXT NOT NULL,
			disabled    BOOLEAN NOT NULL DEFAULT FALSE,
			created_at  TIMESTAMPTZ NOT NULL,
			updated_at  TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX rollbar_tokens_env_idx ON rollbar_tokens (env_id)`,
		// Items: occurrences grouped by fingerprint (hash), numbered per
		// environment (counter). Timestamps are unix seconds as Rollbar's
		// API reports them; environments and code_versions are JSON arrays.
		`CREATE SEQUENCE rollbar_items_id_seq START 1`,
		`CREATE TABLE rollbar_items (
			id                       BIGINT PRIMARY KEY DEFAULT nextval('rollbar_items_id_seq'),
			env_id                   BIGINT NOT NULL,
			counter                  BIGINT NOT NULL,
			hash                     TEXT NOT NULL,
			title                    TEXT NOT NULL,
			level                    TEXT NOT NULL,
			status                   TEXT NOT NULL,
			environment              TEXT NOT NULL,
			environments             TEXT NOT NULL DEFAULT '[]',
			code_versions            TEXT NOT NULL DEFAULT '[]',
			platform                 TEXT NOT NULL DEFAULT '',
			framework                TEXT NOT NULL DEFAULT '',
			language                 TEXT NOT NULL DEFAULT '',
			exception_class          TEXT NOT NULL DEFAULT '',
			total_occurrences        BIGINT NOT NULL DEFAULT 0,
			first_occurrence_id      BIGINT NOT NULL DEFAULT 0,
			first_occurrence_ts      BIGINT NOT NULL DEFAULT 0,
			last_occurrence_id       BIGINT NOT NULL DEFAULT 0,
			last_occurrence_ts       BIGINT NOT NULL DEFAULT 0,
			activating_occurrence_id BIGINT NOT NULL DEFAULT 0,
			last_activated_ts        BIGINT NOT NULL DEFAULT 0,
			last_resolved_ts         BIGINT NOT NULL DEFAULT 0,
			last_muted_ts            BIGINT NOT NULL DEFAULT 0,
			resolved_in_version      TEXT NOT NULL DEFAULT '',
			created_at               TIMESTAMPTZ NOT NULL,
			updated_at               TIMESTAMPTZ NOT NULL,
			UNIQUE (env_id, hash),
			UNIQUE (env_id, counter)
		)`,
		`CREATE SEQUENCE rollbar_deploys_id_seq START 1`,
		`CREATE TABLE rollbar_deploys (
			id               BIGINT PRIMARY KEY DEFAULT nextval('rollbar_deploys_id_seq'),
			env_id           BIGINT NOT NULL,
			environment      TEXT NOT NULL,
			revision         TEXT NOT NULL,
			local_username   TEXT NOT NULL DEFAULT '',
			rollbar_username TEXT NOT NULL DEFAULT '',
			comment          TEXT NOT NULL DEFAULT '',
			status           TEXT NOT NULL,
			start_time       BIGINT NOT NULL,
			finish_time      BIGINT NOT NULL DEFAULT 0,
			created_at       TIMESTAMPTZ NOT NULL,
			updated_at       TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX rollbar_deploys_env_idx ON rollbar_deploys (env_id, id)`,
		// Notification recipients of any feature (source: "rollbar", later
		// triggers) and kind (webhook, later slack, email, pagerduty).
		// config is kind-specific JSON; events lists the event names the
		// recipient wants, space-separated, empty for all.
		`CREATE SEQUENCE notify_recipients_id_seq START 1`,
		`CREATE TABLE notify_recipients (
			id         BIGINT PRIMARY KEY DEFAULT nextval('notify_recipients_id_seq'),
			env_id     BIGINT NOT NULL,
			source     TEXT NOT NULL,
			kind       TEXT NOT NULL,
			name       TEXT NOT NULL DEFAULT '',
			target     TEXT NOT NULL,
			config     TEXT NOT NULL DEFAULT '{}',
			events     TEXT NOT NULL DEFAULT '',
			enabled    BOOLEAN NOT NULL DEFAULT TRUE,
			created_at TIMESTAMPTZ NOT NULL,
			updated_at TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX notify_recipients_env_idx ON notify_recipients (env_id)`,
		// The delivery log: one row per (notification, recipient), updated
		// as attempts are made. status is pending, delivered or failed.
		`CREATE SEQUENCE notify_deliveries_id_seq START 1`,
		`CREATE TABLE notify_deliveries (
			id              BIGINT PRIMARY KEY DEFAULT nextval('notify_deliveries_id_seq'),
			recipient_id    BIGINT NOT NULL,
			env_id          BIGINT NOT NULL,
			event_name      TEXT NOT NULL,
			payload         TEXT NOT NULL,
			status          TEXT NOT NULL,
			attempts        INTEGER NOT NULL DEFAULT 0,
			last_status     INTEGER NOT NULL DEFAULT 0,
			last_error      TEXT NOT NULL DEFAULT '',
			next_attempt_at TIMESTAMPTZ NOT NULL,
			created_at      TIMESTAMPTZ NOT NULL,
			updated_at      TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX notify_deliveries_due_idx ON notify_deliveries (status, next_attempt_at)`,
		`CREATE INDEX notify_deliveries_recipient_idx ON notify_deliveries (recipient_id, id)`,
	}},
	// CloudWatch Logs (internal/cloudwatchlogs; see meta/logs.go): log groups
	// and their streams. A group's events live in the event store's dataset
	// named by dataset; times are epoch milliseconds as the Logs API reports
	// them; tags is a JSON object.
	{version: 4, name: "cloudwatch-logs", stmts: []string{
		`CREATE SEQUENCE log_groups_id_seq START 1`,
		`CREATE TABLE log_groups (
			id                  BIGINT PRIMARY KEY DEFAULT nextval('log_groups_id_seq'),
			env_id              BIGINT NOT NULL,
			name                TEXT NOT NULL,
			dataset             TEXT NOT NULL,
			created_ms          BIGINT NOT NULL,
			retention_days      INTEGER NOT NULL DEFAULT 0,
			log_group_class     TEXT NOT NULL DEFAULT 'STANDARD',
			kms_key_id          TEXT NOT NULL DEFAULT '',
			deletion_protection BOOLEAN NOT NULL DEFAULT FALSE,
			tags                TEXT NOT NULL DEFAULT '{}',
			updated_at          TIMESTAMPTZ NOT NULL,
			UNIQUE (env_id, name)
		)`,
		`CREATE TABLE log_streams (
			group_id          BIGINT NOT NULL,
			name              TEXT NOT NULL,
			created_ms        BIGINT NOT NULL,
			first_event_ms    BIGINT NOT NULL DEFAULT 0,
			last_event_ms     BIGINT NOT NULL DEFAULT 0,
			last_ingestion_ms BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (group_id, name)
		)`,
	}},
	// Saved query specifications (POST /1/queries; see meta/queries.go).
	{version: 5, name: "saved-queries", stmts: []string{
		`CREATE TABLE saved_queries (
			env_id     BIGINT NOT NULL,
			dataset    TEXT NOT NULL,
			id         TEXT NOT NULL,
			spec       TEXT NOT NULL,
			created_at TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (env_id, dataset, id)
		)`,
	}},
	// AWS X-Ray (internal/xray; see meta/xray.go): groups (a name and a
	// filter expression evaluated at query time) and sampling rules. Times
	// are epoch seconds as the X-Ray API reports them; attributes and tags
	// are JSON objects/arrays.
	{version: 6, name: "xray", stmts: []string{
		`CREATE TABLE xray_groups (
			env_id            BIGINT NOT NULL,
			name              TEXT NOT NULL,
			arn_suffix        TEXT NOT NULL,
			filter_expression TEXT NOT NULL DEFAULT '',
			insights_enabled  BOOLEAN NOT NULL DEFAULT FALSE,
			notifications     BOOLEAN NOT NULL DEFAULT FALSE,
			tags              TEXT NOT NULL DEFAULT '[]',
			created_at        DOUBLE PRECISION NOT NULL,
			updated_at        DOUBLE PRECISION NOT NULL,
			PRIMARY KEY (env_id, name)
		)`,
		`CREATE TABLE xray_sampling_rules (
			env_id         BIGINT NOT NULL,
			name           TEXT NOT NULL,
			resource_arn   TEXT NOT NULL,
			priority       INTEGER NOT NULL,
			fixed_rate     DOUBLE PRECISION NOT NULL,
			reservoir_size INTEGER NOT NULL,
			service_name   TEXT NOT NULL,
			service_type   TEXT NOT NULL,
			host           TEXT NOT NULL,
			http_method    TEXT NOT NULL,
			url_path       TEXT NOT NULL,
			version        INTEGER NOT NULL,
			attributes     TEXT NOT NULL DEFAULT '{}',
			created_at     DOUBLE PRECISION NOT NULL,
			modified_at    DOUBLE PRECISION NOT NULL,
			PRIMARY KEY (env_id, name)
		)`,
	}},
	// Web UI users (meta/users.go): accounts with an argon2id password hash
	// and a role, sessions (only the SHA-256 of the cookie's secret is
	// stored), one-time setup tokens for the first owner, and per-user query
	// history.
	{version: 7, name: "ui-users", stmts: []string{
		`CREATE SEQUENCE users_id_seq START 1`,
		`CREATE TABLE users (
			id            BIGINT PRIMARY KEY DEFAULT nextval('users_id_seq'),
			team_id       BIGINT NOT NULL,
			email         TEXT NOT NULL UNIQUE,
			name          TEXT NOT NULL DEFAULT '',
			role          TEXT NOT NULL,
			password_hash TEXT NOT NULL,
			created_at    TIMESTAMPTZ NOT NULL,
			updated_at    TIMESTAMPTZ NOT NULL
		)`,
		`CREATE TABLE user_sessions (
			id_hash      TEXT PRIMARY KEY,
			user_id      BIGINT NOT NULL,
			created_at   TIMESTAMPTZ NOT NULL,
			expires_at   TIMESTAMPTZ NOT NULL
		)`,
		`CREATE TABLE setup_tokens (
			token_hash TEXT PRIMARY KEY,
			created_at TIMESTAMPTZ NOT NULL,
			expires_at TIMESTAMPTZ NOT NULL,
			used       BOOLEAN NOT NULL DEFAULT FALSE
		)`,
		`CREATE SEQUENCE query_history_id_seq START 1`,
		`CREATE TABLE query_history (
			id         BIGINT PRIMARY KEY DEFAULT nextval('query_history_id_seq'),
			user_id    BIGINT NOT NULL,
			env_id     BIGINT NOT NULL,
			dataset    TEXT NOT NULL,
			spec       TEXT NOT NULL,
			created_at TIMESTAMPTZ NOT NULL
		)`,
	}},
	// Honeycomb's management objects (meta/hcobjects.go and the typed
	// wrappers boards.go, markers.go, annotations.go, triggers.go): query
	// annotations, boards and their views, markers, marker settings and
	// triggers, each a JSON document of its kind under (environment, kind,
	// id); parent is the dataset slug ("__all__" for the environment) or,
	// for board views, the board id. trigger_states is the trigger engine's
	// state (internal/triggers): the start of the last evaluated interval
	// (Unix seconds), whether it is triggered and per result group JSON.
	// query_runs is the query history of the query API (meta/history.go).
	{version: 8, name: "honeycomb-triggers-boards", stmts: []string{
		`CREATE TABLE hc_objects (
			env_id     BIGINT NOT NULL,
			kind       TEXT NOT NULL,
			id         TEXT NOT NULL,
			parent     TEXT NOT NULL,
			body       TEXT NOT NULL,
			created_at TIMESTAMPTZ NOT NULL,
			updated_at TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (env_id, kind, id)
		)`,
		`CREATE INDEX hc_objects_parent_idx ON hc_objects (env_id, kind, parent)`,
		`CREATE TABLE trigger_states (
			env_id         BIGINT NOT NULL,
			trigger_id     TEXT NOT NULL,
			interval_start BIGINT NOT NULL,
			triggered      BOOLEAN NOT NULL,
			groups         TEXT NOT NULL,
			last_error     TEXT NOT NULL DEFAULT '',
			evaluated_at   TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (env_id, trigger_id)
		)`,
		`CREATE SEQUENCE query_runs_id_seq START 1`,
		`CREATE TABLE query_runs (
			id         BIGINT PRIMARY KEY DEFAULT nextval('query_runs_id_seq'),
			env_id     BIGINT NOT NULL,
			key_id     TEXT NOT NULL,
			user_id    BIGINT NOT NULL DEFAULT 0,
			dataset    TEXT NOT NULL,
			query_id   TEXT NOT NULL,
			result_id  TEXT NOT NULL DEFAULT '',
			spec       TEXT NOT NULL,
			created_at TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX query_runs_env_idx ON query_runs (env_id, id)`,
		`CREATE INDEX notify_deliveries_event_idx ON notify_deliveries (env_id, event_name, id)`,
	}},
	// Derived columns (meta/derived.go): Honeycomb's calculated fields, one
	// row per (environment, id); dataset is the slug or "__all__"; an alias
	// is unique per (environment, dataset). SLOs and burn alerts are
	// hc_objects (kinds "slo", "burn_alert"); burn_alert_states is what the
	// burn alert evaluator (internal/triggers/burnalerts.go) knows of each.
	{version: 9, name: "derived-columns-slos", stmts: []string{
		`CREATE TABLE derived_columns (
			env_id      BIGINT NOT NULL,
			id          TEXT NOT NULL,
			dataset     TEXT NOT NULL,
			alias       TEXT NOT NULL,
			expression  TEXT NOT NULL,
			description TEXT NOT NULL DEFAULT '',
			created_at  TIMESTAMPTZ NOT NULL,
			updated_at  TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (env_id, id),
			UNIQUE (env_id, dataset, alias)
		)`,
		`CREATE TABLE burn_alert_states (
			env_id       BIGINT NOT NULL,
			alert_id     TEXT NOT NULL,
			triggered    BOOLEAN NOT NULL,
			value        DOUBLE PRECISION NOT NULL DEFAULT 0,
			last_error   TEXT NOT NULL DEFAULT '',
			evaluated_at TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (env_id, alert_id)
		)`,
	}},
	// Claims on notification deliveries (meta/notify_claims.go): the node
	// sending a delivery claims it (holder, expiry in microseconds by the
	// database's clock, 0 when unclaimed), so nodes sharing the database
	// never send one delivery at once and a dead node's deliveries move to
	// another. DuckDB cannot add columns with constraints, so these are
	// nullable; the queries read NULL as unclaimed.
	{version: 10, name: "notify-claims", stmts: []string{
		`ALTER TABLE notify_deliveries ADD COLUMN claimed_by TEXT DEFAULT ''`,
		`ALTER TABLE notify_deliveries ADD COLUMN claimed_until_us BIGINT DEFAULT 0`,
	}},
}

// migrate applies every migration newer than the database's version.
func (db *DB) migrate(ctx context.Context) error {
	unlock, err := db.dialect.lockMigrations(ctx, db.sql)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int64
	if err := db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if latest := migrations[len(migrations)-1].version; current > latest {
		return fmt.Errorf("schema version %d is newer than this waggle knows (%d): upgrade waggle", current, latest)
	}
	applied := false
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		err := db.Tx(ctx, func(tx *DB) error {
			for _, s := range m.stmts {
				if _, err := tx.q.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("%w (statement %.60q)", err, s)
				}
			}
			_, err := tx.q.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, now())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		applied = true
	}
	// DuckDB cannot replay some schema changes from its write-ahead log
	// (ALTER TABLE … ADD COLUMN … DEFAULT fails with an internal error about
	// the default database), so a crash before the next automatic
	// checkpoint would leave a metadata file that no longer opens. Write the
	// new schema into the database file at once.
	if applied && db.dialect.name() == "duckdb" {
		if _, err := db.sql.ExecContext(ctx, `CHECKPOINT`); err != nil {
			return fmt.Errorf("checkpoint after migrations: %w", err)
		}
	}
	return nil
}

// SchemaVersion returns the database's schema version.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("meta: schema version: %w", err)
	}
	return v, nil
}
