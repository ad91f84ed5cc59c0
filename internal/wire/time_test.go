package wire

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return tt.UTC()
	}
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-03-01T12:34:56Z", utc("2024-03-01T12:34:56Z"), true},
		{"2024-03-01T12:34:56.123456789Z", utc("2024-03-01T12:34:56.123456789Z"), true},
		{"2024-03-01T12:34:56.5+02:00", utc("2024-03-01T10:34:56.5Z"), true},
		{"2024-03-01T12:34:56.123-07:30", utc("2024-03-01T20:04:56.123Z"), true},
		{"2024-03-01 12:34:56.25Z", utc("2024-03-01T12:34:56.25Z"), true},
		{"2024-03-01T12:34:56.123456", utc("2024-03-01T12:34:56.123456Z"), true},
		{"2024-03-01 12:34:56", utc("2024-03-01T12:34:56Z"), true},
		{" 2024-03-01T12:34:56Z ", utc("2024-03-01T12:34:56Z"), true},
		// Epochs by digit count.
		{"1535589382", time.Unix(1535589382, 0).UTC(), true},
		{"1535589382641", time.Unix(1535589382, 641e6).UTC(), true},
		{"1535589382641123", time.Unix(1535589382, 641123e3).UTC(), true},
		{"1535589382641123456", time.Unix(1535589382, 641123456).UTC(), true},
		{"1535589382.641", time.Unix(1535589382, 641e6).UTC(), true},
		{"1535589382.6411234567", time.Unix(1535589382, 641123456).UTC(), true},
		{"1535589382641.5", time.Unix(1535589382, 641500e3).UTC(), true},
		{"0001535589382", time.Unix(1535589382, 0).UTC(), true},
		{"12345", time.Unix(12345, 0).UTC(), true},
		{"0", time.Unix(0, 0).UTC(), true},
		{"1.535589382e9", time.Unix(1535589382, 0).UTC(), true},
		{"1.535589382641e12", time.Unix(1535589382, 641e6).UTC(), true},
		{"-86400", time.Unix(-86400, 0).UTC(), true},
		// Garbage.
		{"", time.Time{}, false},
		{"   ", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2024-13-01T00:00:00Z", time.Time{}, false},
		{"12-34", time.Time{}, false},
		{"1.2.3", time.Time{}, false},
		{".", time.Time{}, false},
		{"-", time.Time{}, false},
		{"1e999", time.Time{}, false},
		{"NaN", time.Time{}, false},
	}
	for _, tc := range cases {
		got, ok := ParseTime(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) location %v, want UTC", tc.in, got.Location())
		}
	}
}

func TestEpochNumbers(t *testing.T) {
	want := time.Unix(1535589382, 641e6).UTC()
	if got := EpochInt(1535589382641); !got.Equal(want) {
		t.Errorf("EpochInt(ms) = %v", got)
	}
	if got := EpochInt(1535589382); !got.Equal(want.Truncate(time.Second)) {
		t.Errorf("EpochInt(s) = %v", got)
	}
	if got, ok := EpochFloat(1535589382.641); !ok || got.Sub(want).Abs() > time.Microsecond {
		t.Errorf("EpochFloat = %v, %v", got, ok)
	}
	if got, ok := EpochFloat(1535589382641.0); !ok || !got.Equal(want) {
		t.Errorf("EpochFloat(ms) = %v, %v", got, ok)
	}
}

func FuzzEventTime(f *testing.F) {
	for _, s := range []string{"2024-03-01T12:34:56.123456789Z", "1535589382641", "1535589382.641", "1.5e9", "-1", "2024-03-01 12:34:56", "99999999999999999999999999.9999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tt, ok := ParseTime(s)
		if !ok && !tt.IsZero() {
			t.Fatalf("not ok but time %v", tt)
		}
		if ok && tt.Location() != time.UTC {
			t.Fatalf("location %v", tt.Location())
		}
		_, _ = ParseEpoch(s)
	})
}
