package wire

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseTime parses a timestamp as Honeycomb's events API accepts it (in
// headers such as X-Honeycomb-Event-Time and in a batch event's "time"):
//
//   - RFC 3339 with or without fractional seconds ("2006-01-02T15:04:05.999Z",
//     "…+02:00"); also, leniently, a space instead of the "T" and a missing
//     zone, which is taken as UTC;
//   - a Unix epoch as a decimal number, see ParseEpoch.
//
// The result is in UTC. ok is false when s is none of these; callers then use
// the time the event was received.
func ParseTime(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if looksNumeric(s) {
		return ParseEpoch(s)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range lenientLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var lenientLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

func looksNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

// epochSecondDigits is how many integer digits a Unix time in seconds has
// (until the year 2286).
const epochSecondDigits = 10

// ParseEpoch parses a Unix epoch written as a decimal number, the way
// Honeycomb (and Refinery) read one: an integer part of up to 10 digits is
// seconds; a longer integer part is read as its first 10 digits of seconds
// and the rest as the fraction, so 13 digits are milliseconds, 16 microseconds
// and 19 nanoseconds. A fraction ("1535589382.641") is kept to the
// nanosecond. Leading zeros do not count as digits. Exponent forms ("1.5e9")
// are read as seconds. The result is in UTC.
func ParseEpoch(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, false
		}
		return EpochFloat(f)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return time.Time{}, false
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return time.Time{}, false
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > epochSecondDigits {
		frac = intPart[epochSecondDigits:] + frac
		intPart = intPart[:epochSecondDigits]
	}
	var sec int64
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		sec = v
	}
	var nsec int64
	for i := 0; i < 9; i++ {
		nsec *= 10
		if i < len(frac) {
			nsec += int64(frac[i] - '0')
		}
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec).UTC(), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// EpochInt interprets an integer Unix epoch by its digit count, as ParseEpoch
// does: up to 10 digits seconds, 13 milliseconds, 16 microseconds, 19
// nanoseconds.
func EpochInt(n int64) time.Time {
	t, _ := ParseEpoch(strconv.FormatInt(n, 10))
	return t
}

// EpochFloat interprets a floating-point Unix epoch by the digit count of its
// integer part, as ParseEpoch does. ok is false for NaN and infinities.
func EpochFloat(f float64) (t time.Time, ok bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	return ParseEpoch(strconv.FormatFloat(f, 'f', -1, 64))
}
