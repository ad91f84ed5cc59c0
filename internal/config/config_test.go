package config

import (
	"testing"
	"time"
)

func TestParseDefaultsAreLoopback(t *testing.T) {
	c, err := Parse("serve", nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{c.HTTPAddr, c.OTLPGRPCAddr, c.OTLPHTTPAddr, c.XRayAddr} {
		if addr[:10] != "127.0.0.1:" {
			t.Errorf("default address %q is not loopback", addr)
		}
	}
	if c.TriggerTick != 10*time.Second {
		t.Errorf("trigger tick = %v, want 10s", c.TriggerTick)
	}
	if c.MemoryLimit != DefaultMemoryLimit {
		t.Errorf("memory limit = %d, want %d", c.MemoryLimit, DefaultMemoryLimit)
	}
}

func TestParseEnvAndFlags(t *testing.T) {
	env := map[string]string{
		"WAGGLE_DATA_DIR":     "/var/lib/waggle",
		"WAGGLE_HTTP_ADDR":    "0.0.0.0:9000",
		"WAGGLE_MEMORY_LIMIT": "512MiB",
		"WAGGLE_API_KEY":      "secret",
		"WAGGLE_TRIGGER_TICK": "1s",
	}
	c, err := Parse("serve", []string{"--http-addr", "127.0.0.1:9001"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/waggle" || c.HTTPAddr != "127.0.0.1:9001" || c.MemoryLimit != 512<<20 || c.APIKey != "secret" || c.TriggerTick != time.Second {
		t.Errorf("got %+v", c)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"bad size", []string{"--memory-limit", "lots"}, nil},
		{"too small", []string{"--memory-limit", "1MiB"}, nil},
		{"half an AWS credential", nil, map[string]string{"WAGGLE_AWS_ACCESS_KEY_ID": "AKID"}},
		{"stray argument", []string{"extra"}, nil},
		{"trigger tick too short", nil, map[string]string{"WAGGLE_TRIGGER_TICK": "1ms"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse("serve", tc.args, func(k string) string { return tc.env[k] }); err == nil {
				t.Fatal("expected an error")
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	cases := map[string]int64{
		"1024": 1024, "1KiB": 1024, "1.5GiB": 3 << 29, "100MB": 100e6, "2G": 2 << 30, " 64 MiB ": 64 << 20,
	}
	for in, want := range cases {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "GiB", "1XB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
}
