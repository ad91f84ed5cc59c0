package config

import "testing"

func TestParseMetadataSelection(t *testing.T) {
	c, err := Parse("serve", nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta != "" || c.MasterKey != "" {
		t.Errorf("defaults: Meta %q MasterKey %q, want the embedded database", c.Meta, c.MasterKey)
	}
	env := map[string]string{
		"WAGGLE_META":       "postgres://waggle@db/waggle",
		"WAGGLE_MASTER_KEY": "/etc/waggle/master.key",
	}
	c, err = Parse("serve", nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta != env["WAGGLE_META"] || c.MasterKey != env["WAGGLE_MASTER_KEY"] {
		t.Errorf("from env: %+v", c)
	}
	c, err = Parse("serve", []string{"--meta", "postgres://other/db"}, func(k string) string { return env[k] })
	if err != nil || c.Meta != "postgres://other/db" {
		t.Errorf("flag: %q, %v", c.Meta, err)
	}
}
