package tenant

import (
	"context"
	"fmt"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// AWSCredentialInfo describes an AWS access key pair without its secret.
type AWSCredentialInfo struct {
	AccessKeyID string
	Env         event.EnvID
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Limits on AWS access key pairs.
const (
	MaxAccessKeyID = 128
	MaxAWSSecret   = 128
)

// SetAWSCredential stores an AWS access key pair for env, replacing the secret
// if the access key id is env's already. It returns ErrConflict if the access
// key id belongs to another environment. The secret is stored encrypted.
func (s *Service) SetAWSCredential(ctx context.Context, env event.EnvID, accessKeyID, secret string) (AWSCredentialInfo, error) {
	if err := validAWS(accessKeyID, secret); err != nil {
		return AWSCredentialInfo{}, fmt.Errorf("tenant: set AWS credential: %w", err)
	}
	if _, err := s.Environment(ctx, env); err != nil {
		return AWSCredentialInfo{}, err
	}
	c, err := s.db.PutAWSCredential(ctx, int64(env), accessKeyID, secret)
	if err != nil {
		return AWSCredentialInfo{}, fmt.Errorf("tenant: set AWS credential: %w", fromMeta(err))
	}
	s.changed(ctx, "set AWS credential")
	return AWSCredentialInfo{AccessKeyID: c.AccessKeyID, Env: env, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}, nil
}

// DeleteAWSCredential deletes one of env's AWS access key pairs. It stops
// working at once.
func (s *Service) DeleteAWSCredential(ctx context.Context, env event.EnvID, accessKeyID string) error {
	c, err := s.db.AWSCredential(ctx, accessKeyID)
	if err != nil {
		return fmt.Errorf("tenant: delete AWS credential: %w", fromMeta(err))
	}
	if c.EnvID != int64(env) {
		return fmt.Errorf("tenant: delete AWS credential %s: %w", accessKeyID, ErrNotFound)
	}
	s.revoke(func(p *Principal) bool { return p.Kind == KindAWS && p.KeyID == accessKeyID })
	err = s.db.DeleteAWSCredential(ctx, accessKeyID)
	s.changed(ctx, "delete AWS credential")
	if err != nil {
		return fmt.Errorf("tenant: delete AWS credential: %w", fromMeta(err))
	}
	return nil
}

// validAWS checks an access key pair: printable ASCII, as AWS's are, since
// both travel in headers and the id is matched exactly.
func validAWS(id, secret string) error {
	if id == "" || len(id) > MaxAccessKeyID {
		return fmt.Errorf("%w: access key id must be 1 to %d characters", ErrInvalid, MaxAccessKeyID)
	}
	if secret == "" || len(secret) > MaxAWSSecret {
		return fmt.Errorf("%w: secret access key must be 1 to %d characters", ErrInvalid, MaxAWSSecret)
	}
	for _, s := range []string{id, secret} {
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] > '~' {
				return fmt.Errorf("%w: AWS credentials must be printable ASCII without spaces", ErrInvalid)
			}
		}
	}
	return nil
}
