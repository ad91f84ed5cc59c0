package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
)

// Names Bootstrap gives what it creates.
const (
	// DefaultSlug is the slug of the team and environment made on first start.
	DefaultSlug = "default"
	// EnvAPIKeyName names the key made from BootstrapOptions.APIKey.
	EnvAPIKeyName = EnvVarAPIKey
	// FirstKeyName names the key made on first start without an APIKey.
	FirstKeyName = "first-start key"
)

// bootstrappedSetting marks in the metadata database that the first start
// finished, so its generated key is made, and shown, once.
const bootstrappedSetting = "tenant.bootstrapped_at"

// BootstrapOptions configures Bootstrap; the server fills it from the
// environment.
type BootstrapOptions struct {
	// TeamName and EnvironmentName name the team and environment made on the
	// first start (both with slug "default"); empty means "Default". They
	// are not renamed on later starts.
	TeamName        string
	EnvironmentName string
	// APIKey (WAGGLE_API_KEY) becomes a key with every permission in the
	// default environment, unless a key with that secret exists. Changing
	// it adds the new key; the old one keeps working until deleted through
	// the API.
	APIKey string
	// AWSAccessKeyID and AWSSecretAccessKey (WAGGLE_AWS_ACCESS_KEY_ID,
	// WAGGLE_AWS_SECRET_ACCESS_KEY) become the default environment's SigV4
	// credential; a changed secret replaces the stored one. Both or neither.
	AWSAccessKeyID     string
	AWSSecretAccessKey string
}

// BootstrapResult says what Bootstrap found or made.
type BootstrapResult struct {
	Team        Team
	Environment Environment
	// FirstStart is true on the start that created the tenancy.
	FirstStart bool
	// APIKeyAdded is true when Options.APIKey was new and became a key.
	APIKeyAdded bool
	// GeneratedKey and GeneratedSecret are set only on the first start
	// without Options.APIKey: an all-permission key whose secret the server
	// prints this once. It is never available again.
	GeneratedKey    *Key
	GeneratedSecret string
}

// Bootstrap makes sure the default team and environment exist and the
// operator's configured credentials are in place. It is idempotent: run it on
// every start.
//
// On the very first start (no earlier Bootstrap finished in this metadata
// database) it creates team "default" and its environment "default", and, if
// no APIKey is configured, an all-permission key whose secret is returned
// once in the result for the server to print. If the default environment was
// deleted since, a later start recreates it.
func (s *Service) Bootstrap(ctx context.Context, opts BootstrapOptions) (BootstrapResult, error) {
	if (opts.AWSAccessKeyID == "") != (opts.AWSSecretAccessKey == "") {
		return BootstrapResult{}, fmt.Errorf("tenant: bootstrap: %w: set both the AWS access key id and the secret access key, or neither", ErrInvalid)
	}
	if opts.APIKey != "" {
		if err := validSecret(opts.APIKey); err != nil {
			return BootstrapResult{}, fmt.Errorf("tenant: bootstrap: WAGGLE_API_KEY: %w", err)
		}
		if len(opts.APIKey) < 20 {
			s.log.Warn("WAGGLE_API_KEY is short; anyone who guesses it can read and write all data", "length", len(opts.APIKey))
		}
	}
	var res BootstrapResult
	err := s.db.Tx(ctx, func(tx *meta.DB) error {
		_, done, err := tx.Setting(ctx, bootstrappedSetting)
		if err != nil {
			return err
		}
		res.FirstStart = !done
		team, err := tx.TeamBySlug(ctx, DefaultSlug)
		if errors.Is(err, meta.ErrNotFound) {
			team, err = tx.CreateTeam(ctx, orDefault(opts.TeamName), DefaultSlug)
		}
		if err != nil {
			return err
		}
		res.Team = teamFromMeta(team)
		envRow, err := tx.EnvironmentBySlug(ctx, team.ID, DefaultSlug)
		if errors.Is(err, meta.ErrNotFound) {
			if done {
				s.log.Warn("the default environment was deleted; recreating it")
			}
			res.Environment, err = createEnvironment(ctx, tx, team.ID, EnvironmentSpec{Name: orDefault(opts.EnvironmentName), Slug: DefaultSlug})
		} else {
			res.Environment = envFromMeta(envRow)
		}
		if err != nil {
			return err
		}
		env := res.Environment.ID

		if opts.APIKey != "" {
			h := HashSecret(opts.APIKey)
			existing, err := tx.APIKeyByHash(ctx, h[:])
			switch {
			case err == nil && existing.Disabled:
				s.log.Warn("WAGGLE_API_KEY is disabled; leaving it disabled", "key_id", existing.ID)
			case err == nil:
			case errors.Is(err, meta.ErrNotFound):
				if _, _, err := s.createKey(ctx, tx, env, KeySpec{Name: EnvAPIKeyName, Perms: AllPermissions, Secret: opts.APIKey}); err != nil {
					return err
				}
				res.APIKeyAdded = true
			default:
				return err
			}
		} else if !done {
			k, secret, err := s.createKey(ctx, tx, env, KeySpec{Name: FirstKeyName, Perms: AllPermissions})
			if err != nil {
				return err
			}
			res.GeneratedKey, res.GeneratedSecret = &k, secret
		}

		if opts.AWSAccessKeyID != "" {
			if err := validAWS(opts.AWSAccessKeyID, opts.AWSSecretAccessKey); err != nil {
				return err
			}
			if _, err := tx.PutAWSCredential(ctx, int64(env), opts.AWSAccessKeyID, opts.AWSSecretAccessKey); err != nil {
				return err
			}
		}
		if !done {
			return tx.SetSetting(ctx, bootstrappedSetting, time.Now().UTC().Format(time.RFC3339))
		}
		return nil
	})
	if err != nil {
		return BootstrapResult{}, fmt.Errorf("tenant: bootstrap: %w", fromMeta(err))
	}
	if err := s.Refresh(ctx); err != nil {
		return BootstrapResult{}, err
	}
	return res, nil
}

func orDefault(name string) string {
	if name == "" {
		return "Default"
	}
	return name
}

// Environment variables BootstrapOptionsFromEnv reads.
const (
	EnvVarAPIKey             = "WAGGLE_API_KEY"
	EnvVarAWSAccessKeyID     = "WAGGLE_AWS_ACCESS_KEY_ID"
	EnvVarAWSSecretAccessKey = "WAGGLE_AWS_SECRET_ACCESS_KEY"
)

// BootstrapOptionsFromEnv fills BootstrapOptions from WAGGLE_API_KEY,
// WAGGLE_AWS_ACCESS_KEY_ID and WAGGLE_AWS_SECRET_ACCESS_KEY as getenv (for
// example os.Getenv) reports them.
func BootstrapOptionsFromEnv(getenv func(string) string) BootstrapOptions {
	return BootstrapOptions{
		APIKey:             getenv(EnvVarAPIKey),
		AWSAccessKeyID:     getenv(EnvVarAWSAccessKeyID),
		AWSSecretAccessKey: getenv(EnvVarAWSSecretAccessKey),
	}
}
