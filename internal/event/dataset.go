package event

import (
	"errors"
	"strings"
)

// Limits shared by every protocol.
const (
	// MaxDatasetName is the longest dataset name accepted.
	MaxDatasetName = 255
	// MaxColumnName is the longest column name accepted.
	MaxColumnName = 255
	// MaxFieldsPerEvent is Honeycomb's limit on fields in one event.
	MaxFieldsPerEvent = 2000
	// MaxStringBytes is the longest string value kept; longer ones are cut.
	MaxStringBytes = 64 * 1024
)

// ErrBadDatasetName is returned for a dataset name that cannot be used.
var ErrBadDatasetName = errors.New("invalid dataset name")

// Slug returns the case-insensitive identity of a dataset name as Honeycomb
// forms it: lower case, and every character other than a-z, 0-9, '-', '_' and
// '.' replaced by '-' ("My Dataset!" becomes "my-dataset-").
func Slug(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxDatasetName {
		return "", ErrBadDatasetName
	}
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String(), nil
}

// AllDatasets is the dataset name that addresses every dataset of an
// environment in queries.
const AllDatasets = "__all__"
