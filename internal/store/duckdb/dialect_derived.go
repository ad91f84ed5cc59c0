package duckdb

import (
	"strings"

	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// DuckDB's SQL for derived column expressions (sqlgen.DerivedDialect).

var _ sqlgen.DerivedDialect = dialect{}

// StringLit: DuckDB's strings have no backslash escapes; a quote is doubled.
func (dialect) StringLit(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func (dialect) BoolLit(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// IntLit casts, since a bare literal is a 32-bit INTEGER whose arithmetic
// overflows early.
func (dialect) IntLit(i int64) string { return "CAST(" + sqlgen.SQLIntLit(i) + " AS BIGINT)" }

func (dialect) FloatLit(f float64) string { return sqlgen.SQLFloatLit(f) }

func (dialect) Trunc(x string) string { return "trunc(" + x + ")" }

func (dialect) Floor(x string) string { return "floor(" + x + ")" }

func (dialect) FloatToInt(x string) string { return "CAST(" + x + " AS BIGINT)" }

func (dialect) BoolToInt(x string) string { return "CAST(" + x + " AS BIGINT)" }

func (dialect) ParseInt(s string) string { return "TRY_CAST(" + s + " AS BIGINT)" }

func (dialect) ParseFloat(s string) string { return "TRY_CAST(" + s + " AS DOUBLE)" }

func (dialect) Lower(s string) string { return "lower(" + s + ")" }

func (dialect) Length(s string, bytes bool) string {
	if bytes {
		return "CAST(strlen(" + s + ") AS BIGINT)"
	}
	return "CAST(length(" + s + ") AS BIGINT)"
}

func (dialect) Concat(parts []string) string { return "(" + strings.Join(parts, " || ") + ")" }

func (dialect) RegMatch(s, re string) string { return "regexp_matches(" + s + ", " + re + ")" }

func (dialect) RegValue(s, re string, group bool) string {
	g := "0"
	if group {
		g = "1"
	}
	return "regexp_extract(" + s + ", " + re + ", " + g + ")"
}

func (dialect) RegCount(s, re string) string {
	return "CAST(len(regexp_extract_all(" + s + ", " + re + ")) AS BIGINT)"
}

func (dialect) Log10(x string) string { return "log10(" + x + ")" }

func (dialect) ParseTime(s string) string {
	return "CAST(floor(epoch(TRY_CAST(" + s + " AS TIMESTAMPTZ))) AS BIGINT)"
}

// FormatTime formats a TIMESTAMP (no time zone: UTC) made from
// microseconds.
func (dialect) FormatTime(format, secs string) string {
	return "strftime(make_timestamp(" + secs + " * 1000000), " + format + ")"
}
