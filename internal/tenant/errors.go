package tenant

import (
	"errors"
	"fmt"

	"github.com/waggle-hq/waggle/internal/meta"
)

// Errors a Service returns, wrapped with context; test them with errors.Is.
var (
	// ErrNotFound means the environment, key or credential does not exist, or
	// belongs to another environment than the one asked about.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the slug, name or id is taken.
	ErrConflict = errors.New("already exists")
	// ErrInvalid means the input cannot be used.
	ErrInvalid = errors.New("invalid input")
	// ErrDeleteProtected means the environment has delete protection on.
	ErrDeleteProtected = errors.New("delete protected")
)

// fromMeta translates the metadata store's sentinel errors to the tenant
// package's, keeping the message and the original chain.
func fromMeta(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, meta.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, meta.ErrConflict):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}
