// Package e2e runs the real waggle binary as a process and talks to it over
// its public APIs, the way users and their clients do.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var waggleBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "waggle-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	waggleBin = filepath.Join(dir, "waggle")
	build := exec.Command("go", "build", "-o", waggleBin, "../../cmd/waggle")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build waggle:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one waggle process.
type node struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	base    string // http://host:port
	key     string
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	exited  chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode starts waggle on dataDir with env (WAGGLE_* variables) and waits
// until /healthz answers 200.
//
// freeAddr's ports are free when chosen but may be taken by another test's
// process before waggle binds them; such a start is retried with new ports.
func startNode(t testing.TB, dataDir string, env ...string) *node {
	t.Helper()
	for attempt := 1; ; attempt++ {
		if n := launchNode(t, dataDir, attempt < 3, env...); n != nil {
			return n
		}
	}
}

// launchNode starts one waggle process. It returns nil, for the caller to try
// again, when the process could not bind a port and retry is set.
func launchNode(t testing.TB, dataDir string, retry bool, env ...string) *node {
	t.Helper()
	addr := freeAddr(t)
	n := &node{t: t, dataDir: dataDir, base: "http://" + addr, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	n.cmd = exec.Command(waggleBin, "serve")
	n.cmd.Env = append(os.Environ(),
		"WAGGLE_DATA_DIR="+dataDir,
		"WAGGLE_HTTP_ADDR="+addr,
		"WAGGLE_OTLP_GRPC_ADDR="+freeAddr(t),
		"WAGGLE_OTLP_HTTP_ADDR="+freeAddr(t),
		"WAGGLE_XRAY_ADDR="+freeAddr(t),
	)
	n.cmd.Env = append(n.cmd.Env, env...)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "WAGGLE_API_KEY="); ok {
			n.key = v
		}
	}
	n.cmd.Stdout, n.cmd.Stderr = n.stdout, n.stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() { n.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(n.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		select {
		case <-n.exited:
			if retry && strings.Contains(n.stderr.String(), "address already in use") {
				t.Logf("a port was taken before waggle bound it; starting again: %s", strings.TrimSpace(n.stderr.String()))
				return nil
			}
			t.Fatalf("waggle exited during start-up\nstdout:\n%s\nstderr:\n%s", n.stdout, n.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("waggle not healthy after 60s\nstderr:\n%s", n.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: nothing gets a chance to flush.
func (n *node) kill() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// stop ends the process with SIGTERM and waits for a clean exit.
func (n *node) stop() {
	n.t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(60 * time.Second):
		n.t.Fatal("waggle did not exit within 60s of SIGTERM")
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		n.t.Fatalf("waggle exited with %d\nstderr:\n%s", code, n.stderr)
	}
}

// do sends a request with the node's key and decodes a JSON answer into out
// (when out is not nil). It returns the status code and raw body.
func (n *node) do(method, path, key string, body any, out any) (int, []byte) {
	n.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			n.t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, n.base+path, r)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Honeycomb-Team", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			n.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, raw
}

// query runs a Honeycomb query spec through the query API and returns the
// result's data.results rows.
func (n *node) query(key, dataset string, spec map[string]any) []map[string]any {
	n.t.Helper()
	var q struct {
		ID string `json:"id"`
	}
	if code, raw := n.do("POST", "/1/queries/"+dataset, key, spec, &q); code != 200 {
		n.t.Fatalf("create query: %d %s", code, raw)
	}
	var created struct {
		ID string `json:"id"`
	}
	if code, raw := n.do("POST", "/1/query_results/"+dataset, key, map[string]any{"query_id": q.ID, "disable_series": true}, &created); code != 201 {
		n.t.Fatalf("create query result: %d %s", code, raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var res struct {
			Complete bool `json:"complete"`
			Data     struct {
				Results []struct {
					Data map[string]any `json:"data"`
				} `json:"results"`
			} `json:"data"`
		}
		if code, raw := n.do("GET", "/1/query_results/"+dataset+"/"+created.ID, key, nil, &res); code != 200 {
			n.t.Fatalf("get query result: %d %s", code, raw)
		}
		if res.Complete {
			rows := make([]map[string]any, len(res.Data.Results))
			for i, r := range res.Data.Results {
				rows[i] = r.Data
			}
			return rows
		}
		if time.Now().After(deadline) {
			n.t.Fatal("query did not complete in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// printedKey returns the API key the first start printed, or "".
func (n *node) printedKey() string {
	sc := bufio.NewScanner(strings.NewReader(n.stdout.String()))
	grab := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if grab && line != "" {
			return line
		}
		if strings.Contains(line, "shown only this once") {
			grab = true
		}
	}
	return ""
}
