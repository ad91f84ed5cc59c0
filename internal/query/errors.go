package query

import (
	"errors"
	"fmt"
)

// ErrUnknownDataset is returned (wrapped) by a Catalog, and so by the Engine,
// when a dataset named in a query does not exist in the environment.
var ErrUnknownDataset = errors.New("dataset not found")

// ErrQueryNotFound is returned (wrapped) by a Repository for an unknown query ID.
var ErrQueryNotFound = errors.New("query not found")

// Error is a problem with a query specification: the client's fault, to be
// answered with 400 and Msg. Field is a JSON path into the spec
// ("filters[2].value") or empty when the problem concerns the whole spec.
type Error struct {
	Field string
	Msg   string
}

// Error returns "field: message" or the message alone.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// errorf builds an *Error for field.
func errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// IsSpecError reports whether err is (or wraps) a spec *Error.
func IsSpecError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// fieldf formats a JSON path element such as "filters[3]".
func fieldf(name string, i int) string { return fmt.Sprintf("%s[%d]", name, i) }
