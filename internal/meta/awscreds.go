package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AWSCredential is an AWS-style access key pair that signs SigV4 requests for
// one environment. SigV4 verification recomputes an HMAC keyed by the secret,
// so unlike API keys the secret must be recoverable: it is sealed with the
// master key (see crypto.go) and only ever stored encrypted.
type AWSCredential struct {
	AccessKeyID string
	EnvID       int64
	// Secret is the plain secret access key.
	Secret    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PutAWSCredential stores an access key pair for an environment, replacing the
// secret if the access key id exists in the same environment. It returns
// ErrConflict if the access key id belongs to another environment.
func (db *DB) PutAWSCredential(ctx context.Context, envID int64, accessKeyID, secret string) (AWSCredential, error) {
	sealed, err := db.box.seal([]byte(secret), []byte(accessKeyID))
	if err != nil {
		return AWSCredential{}, fmt.Errorf("meta: seal AWS secret: %w", err)
	}
	var out AWSCredential
	err = db.txTenancy(ctx, func(tx *DB) error {
		t := now()
		var owner int64
		var created time.Time
		err := tx.q.QueryRowContext(ctx,
			`SELECT env_id, created_at FROM aws_credentials WHERE access_key_id = $1`, accessKeyID).Scan(&owner, &created)
		switch {
		case err == nil && owner != envID:
			return fmt.Errorf("meta: AWS access key id %s belongs to another environment: %w", accessKeyID, ErrConflict)
		case err == nil:
			if _, err := tx.q.ExecContext(ctx,
				`UPDATE aws_credentials SET secret_sealed = $2, updated_at = $3 WHERE access_key_id = $1`,
				accessKeyID, sealed, t); err != nil {
				return fmt.Errorf("meta: update AWS credential %s: %w", accessKeyID, err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("meta: AWS credential %s: %w", accessKeyID, err)
		default:
			created = t
			if _, err := tx.q.ExecContext(ctx,
				`INSERT INTO aws_credentials (access_key_id, env_id, secret_sealed, created_at, updated_at)
				 VALUES ($1, $2, $3, $4, $4)`, accessKeyID, envID, sealed, t); err != nil {
				return tx.conflict(err, "create AWS credential "+accessKeyID)
			}
		}
		out = AWSCredential{AccessKeyID: accessKeyID, EnvID: envID, Secret: secret, CreatedAt: created.UTC(), UpdatedAt: t}
		return nil
	})
	return out, err
}

// AWSCredential returns an access key pair with its secret decrypted.
func (db *DB) AWSCredential(ctx context.Context, accessKeyID string) (AWSCredential, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT access_key_id, env_id, secret_sealed, created_at, updated_at FROM aws_credentials WHERE access_key_id = $1`,
		accessKeyID)
	if err != nil {
		return AWSCredential{}, fmt.Errorf("meta: AWS credential %s: %w", accessKeyID, err)
	}
	creds, err := collect(rows, db.scanAWS, "AWS credential "+accessKeyID)
	if err != nil {
		return AWSCredential{}, err
	}
	if len(creds) == 0 {
		return AWSCredential{}, fmt.Errorf("meta: AWS credential %s: %w", accessKeyID, ErrNotFound)
	}
	return creds[0], nil
}

// AllAWSCredentials lists every access key pair with secrets decrypted, for
// loading a cache.
func (db *DB) AllAWSCredentials(ctx context.Context) ([]AWSCredential, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT access_key_id, env_id, secret_sealed, created_at, updated_at FROM aws_credentials ORDER BY access_key_id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list AWS credentials: %w", err)
	}
	return collect(rows, db.scanAWS, "list AWS credentials")
}

// DeleteAWSCredential removes an access key pair.
func (db *DB) DeleteAWSCredential(ctx context.Context, accessKeyID string) error {
	return db.writeTenancy(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM aws_credentials WHERE access_key_id = $1`, accessKeyID)
		if err != nil {
			return fmt.Errorf("meta: delete AWS credential %s: %w", accessKeyID, err)
		}
		return affected(res, "delete AWS credential "+accessKeyID)
	})
}

func (db *DB) scanAWS(s interface{ Scan(...any) error }) (AWSCredential, error) {
	var c AWSCredential
	var sealed []byte
	if err := s.Scan(&c.AccessKeyID, &c.EnvID, &sealed, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return AWSCredential{}, err
	}
	pt, err := db.box.open(sealed, []byte(c.AccessKeyID))
	if err != nil {
		return AWSCredential{}, fmt.Errorf("access key id %s: %w", c.AccessKeyID, err)
	}
	c.Secret = string(pt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

func (db *DB) countAWSCredentials(ctx context.Context) (int64, error) {
	var n int64
	if err := db.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM aws_credentials`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count AWS credentials: %w", err)
	}
	return n, nil
}
