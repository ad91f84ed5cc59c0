package e2e

import (
	"strings"
	"testing"
)

// TestFirstStartPrintsKeyOnce: without WAGGLE_API_KEY the first start creates
// a key and prints it; it works; a restart prints nothing.
func TestFirstStartPrintsKeyOnce(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	key := n.printedKey()
	if !strings.HasPrefix(key, "wgk_") {
		t.Fatalf("first start printed no key:\n%s", n.stdout)
	}
	if code, raw := n.do("GET", "/1/auth", key, nil, nil); code != 200 {
		t.Fatalf("/1/auth with the printed key = %d %s", code, raw)
	}
	n.stop()
	n2 := startNode(t, dir)
	if strings.Contains(n2.stdout.String(), key) || n2.printedKey() != "" {
		t.Fatalf("the key was printed again:\n%s", n2.stdout)
	}
	if code, _ := n2.do("GET", "/1/auth", key, nil, nil); code != 200 {
		t.Fatalf("the printed key stopped working after a restart: %d", code)
	}
	if code, _ := n2.do("GET", "/1/auth", "wgk_not-a-key", nil, nil); code != 401 {
		t.Fatalf("an unknown key got %d, want 401", code)
	}
}

// TestEnvironmentsAreIsolated: a key of one environment can neither read nor
// write another environment's data, though dataset names are the same.
func TestEnvironmentsAreIsolated(t *testing.T) {
	n := startNode(t, t.TempDir(), "WAGGLE_API_KEY="+testKey)

	// The bootstrap key administers the team: it makes environment B and a
	// key there.
	var env struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if code, raw := n.do("POST", "/2/teams/default/environments", testKey, map[string]any{
		"data": map[string]any{"type": "environments", "attributes": map[string]any{"name": "B"}},
	}, &env); code != 201 {
		t.Fatalf("create environment: %d %s", code, raw)
	}
	keyB := createKey(t, n, testKey, env.Data.ID, map[string]bool{"send_events": true, "create_datasets": true, "run_queries": true, "manage_columns": true})
	keyA := createKey(t, n, testKey, "", map[string]bool{"send_events": true, "create_datasets": true, "run_queries": true, "manage_columns": true})

	send := func(key, marker string, count int) {
		t.Helper()
		events := make([]map[string]any, count)
		for i := range events {
			events[i] = map[string]any{"owner": marker, "secret_" + marker: i}
		}
		if code, raw := n.do("POST", "/1/batch/shared", key, wrapBatch(events), nil); code != 200 || strings.Contains(string(raw), "400") {
			t.Fatalf("send as %s: %d %s", marker, code, raw)
		}
	}
	send(keyA, "a", 3)
	send(keyB, "b", 5)

	for _, tc := range []struct {
		key, owner, other string
		count             float64
	}{{keyA, "a", "b", 3}, {keyB, "b", "a", 5}} {
		rows := n.query(tc.key, "shared", map[string]any{
			"calculations": []map[string]any{{"op": "COUNT"}},
			"breakdowns":   []string{"owner"},
			"time_range":   3600,
		})
		if len(rows) != 1 || rows[0]["owner"] != tc.owner || rows[0]["COUNT"] != tc.count {
			t.Errorf("environment %s sees %v, want only its own %v events", tc.owner, rows, tc.count)
		}
		// The other environment's columns are unknown here...
		var cols []struct {
			KeyName string `json:"key_name"`
		}
		if code, raw := n.do("GET", "/1/columns/shared", tc.key, nil, &cols); code != 200 {
			t.Fatalf("columns: %d %s", code, raw)
		}
		for _, c := range cols {
			if c.KeyName == "secret_"+tc.other {
				t.Errorf("environment %s sees column %s of the other", tc.owner, c.KeyName)
			}
		}
		// ...and so is filtering on them.
		var q struct {
			ID string `json:"id"`
		}
		code, raw := n.do("POST", "/1/queries/shared", tc.key, map[string]any{
			"filters": []map[string]any{{"column": "secret_" + tc.other, "op": "exists"}},
		}, &q)
		if code != 400 {
			t.Errorf("a filter on the other environment's column gave %d %s, want 400 unknown column", code, raw)
		}
	}

	// Datasets the other environment alone has are not found.
	send(keyB, "b", 1)
	if code, raw := n.do("POST", "/1/batch/only-in-b", keyB, wrapBatch([]map[string]any{{"x": 1}}), nil); code != 200 {
		t.Fatalf("send: %d %s", code, raw)
	}
	if code, _ := n.do("GET", "/1/datasets/only-in-b", keyA, nil, nil); code != 404 {
		t.Errorf("environment A reads B's dataset: %d, want 404", code)
	}
	if code, _ := n.do("POST", "/1/queries/only-in-b", keyA, map[string]any{"calculations": []map[string]any{{"op": "COUNT"}}}, nil); code != 404 {
		t.Errorf("environment A queries B's dataset: %d, want 404", code)
	}
	var list []struct {
		Slug string `json:"slug"`
	}
	n.do("GET", "/1/datasets", keyA, nil, &list)
	for _, d := range list {
		if d.Slug == "only-in-b" {
			t.Error("environment A lists B's dataset")
		}
	}
	// A key without the permission to manage keys cannot reach into B either.
	if code, _ := n.do("GET", "/2/teams/default/api-keys?filter[environment]="+env.Data.ID, keyA, nil, nil); code != 403 {
		t.Errorf("an environment key lists another environment's keys: %d, want 403", code)
	}
}

func wrapBatch(events []map[string]any) []map[string]any {
	out := make([]map[string]any, len(events))
	for i, e := range events {
		out[i] = map[string]any{"data": e}
	}
	return out
}

// createKey makes a configuration key with perms in environment envID ("" =
// the admin key's own) and returns its secret.
func createKey(t testing.TB, n *node, admin, envID string, perms map[string]bool) string {
	t.Helper()
	data := map[string]any{"type": "api-keys", "attributes": map[string]any{"name": "e2e", "key_type": "configuration", "permissions": perms}}
	if envID != "" {
		data["relationships"] = map[string]any{"environment": map[string]any{"data": map[string]any{"id": envID, "type": "environments"}}}
	}
	var key struct {
		Data struct {
			Attributes struct {
				Secret string `json:"secret"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if code, raw := n.do("POST", "/2/teams/default/api-keys", admin, map[string]any{"data": data}, &key); code != 201 {
		t.Fatalf("create key: %d %s", code, raw)
	}
	return key.Data.Attributes.Secret
}
