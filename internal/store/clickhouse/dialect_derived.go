package clickhouse

import (
	"strings"

	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// ClickHouse's SQL for derived column expressions (sqlgen.DerivedDialect),
// with functions ClickHouse 18.16 has: booleans are UInt8, strings take
// backslash escapes, regular expressions are re2 (match, extract,
// extractAll), and formatDateTime takes a constant format.

var _ sqlgen.DerivedDialect = dialect{}

// StringLit escapes backslashes and quotes; every other byte is literal.
func (dialect) StringLit(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s) + "'"
}

func (dialect) BoolLit(b bool) string {
	if b {
		return "toUInt8(1)"
	}
	return "toUInt8(0)"
}

func (dialect) IntLit(i int64) string { return "toInt64(" + sqlgen.SQLIntLit(i) + ")" }

func (dialect) FloatLit(f float64) string { return "toFloat64(" + sqlgen.SQLFloatLit(f) + ")" }

func (dialect) Trunc(x string) string { return "trunc(" + x + ")" }

func (dialect) Floor(x string) string { return "floor(" + x + ")" }

func (dialect) FloatToInt(x string) string { return "toInt64(" + x + ")" }

func (dialect) BoolToInt(x string) string { return "toInt64(" + x + ")" }

func (dialect) ParseInt(s string) string { return "toInt64OrNull(" + s + ")" }

func (dialect) ParseFloat(s string) string { return "toFloat64OrNull(" + s + ")" }

func (dialect) Lower(s string) string { return "lowerUTF8(" + s + ")" }

func (dialect) Length(s string, bytes bool) string {
	if bytes {
		return "toInt64(length(" + s + "))"
	}
	return "toInt64(lengthUTF8(" + s + "))"
}

func (dialect) Concat(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return "concat(" + strings.Join(parts, ", ") + ")"
}

func (dialect) RegMatch(s, re string) string { return "match(" + s + ", " + re + ")" }

// RegValue: extract returns the first group when the pattern has one, the
// whole match otherwise, "" when nothing matches.
func (dialect) RegValue(s, re string, _ bool) string { return "extract(" + s + ", " + re + ")" }

// RegCount: extractAll takes no Nullable argument on 18.16.
func (dialect) RegCount(s, re string) string {
	return "if(isNull(" + s + "), NULL, toInt64(length(extractAll(ifNull(" + s + ", ''), " + re + "))))"
}

func (dialect) Log10(x string) string { return "log10(" + x + ")" }

func (dialect) ParseTime(s string) string {
	return "toInt64(toUnixTimestamp(parseDateTimeBestEffortOrNull(" + s + ")))"
}

func (dialect) FormatTime(format, secs string) string {
	return "formatDateTime(toDateTime(toUInt32(" + secs + "), 'UTC'), " + format + ", 'UTC')"
}
