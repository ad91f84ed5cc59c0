// Package chtest starts throwaway ClickHouse servers for tests: each runs as
// the current user (root included) in a temporary directory, listening on
// free loopback ports, and is stopped when the test ends. Tests skip when no
// ClickHouse server binary is installed (Debian's clickhouse-server, or the
// single clickhouse binary of current releases).
package chtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Server is a running ClickHouse server.
type Server struct {
	// Dir holds its data, configuration and logs.
	Dir string
	// TCPAddr is the native protocol's address, HTTPAddr the HTTP interface's.
	TCPAddr, HTTPAddr string
	cmd               *exec.Cmd
}

// DSN is a waggle store URL for database db on this server; extra is
// appended as the query string (e.g. "cluster=waggle").
func (s *Server) DSN(db, extra string) string {
	u := "clickhouse://" + s.TCPAddr + "/" + db
	if extra != "" {
		u += "?" + extra
	}
	return u
}

// binary finds the server: clickhouse-server, or clickhouse with the
// "server" argument.
func binary() ([]string, bool) {
	for _, p := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if path, err := exec.LookPath(p); err == nil {
			return []string{path}, true
		}
	}
	if path, err := exec.LookPath("clickhouse"); err == nil {
		return []string{path, "server"}, true
	}
	return nil, false
}

// Start starts one server.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartCluster(t, "", 1)[0]
}

// StartCluster starts n servers whose configurations all define the
// cluster name with one shard per server (no replicas, no ZooKeeper). An
// empty name starts them without a cluster.
func StartCluster(t testing.TB, name string, n int) []*Server {
	t.Helper()
	bin, ok := binary()
	if !ok {
		t.Skip("ClickHouse is not installed (no clickhouse-server or clickhouse binary); apt-get install clickhouse-server")
	}
	servers := make([]*Server, n)
	ports := freePorts(t, 2*n)
	for i := range servers {
		servers[i] = &Server{
			Dir:      t.TempDir(),
			TCPAddr:  "127.0.0.1:" + strconv.Itoa(ports[2*i]),
			HTTPAddr: "127.0.0.1:" + strconv.Itoa(ports[2*i+1]),
		}
	}
	for _, s := range servers {
		if err := s.writeConfig(name, servers); err != nil {
			t.Fatal(err)
		}
		if err := s.start(bin); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.stop)
	}
	for _, s := range servers {
		if err := s.wait(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return servers
}

var portSeq atomic.Int64

// freePorts reserves n distinct free loopback ports (released before the
// servers bind them; a collision fails the start, not silently).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	portSeq.Add(int64(n))
	return ports
}

func (s *Server) writeConfig(cluster string, all []*Server) error {
	_, tcp, _ := net.SplitHostPort(s.TCPAddr)
	_, http, _ := net.SplitHostPort(s.HTTPAddr)
	var remote string
	if cluster != "" {
		var sb strings.Builder
		sb.WriteString("<remote_servers><" + cluster + ">")
		for _, o := range all {
			h, p, _ := net.SplitHostPort(o.TCPAddr)
			sb.WriteString("<shard><replica><host>" + h + "</host><port>" + p + "</port></replica></shard>")
		}
		sb.WriteString("</" + cluster + "></remote_servers>")
		remote = sb.String()
	}
	d := s.Dir
	config := `<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>` + d + `/server.log</log><errorlog>` + d + `/server.err.log</errorlog><size>10M</size><count>1</count><console>0</console></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>` + tcp + `</tcp_port>
    <http_port>` + http + `</http_port>
    <path>` + d + `/data/</path>
    <tmp_path>` + d + `/tmp/</tmp_path>
    <user_files_path>` + d + `/user_files/</user_files_path>
    <format_schema_path>` + d + `/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>0</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
    ` + remote + `
</yandex>
`
	users := `<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage><max_threads>2</max_threads></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(d, "config.xml"), []byte(config), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, "users.xml"), []byte(users), 0o600)
}

func (s *Server) start(bin []string) error {
	args := append(bin[1:], "--config-file="+filepath.Join(s.Dir, "config.xml"))
	s.cmd = exec.Command(bin[0], args...)
	s.cmd.Dir = s.Dir
	out, err := os.Create(filepath.Join(s.Dir, "stdout.log"))
	if err != nil {
		return err
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	// Its own process group, so that stop ends it and its children only.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start clickhouse: %w", err)
	}
	out.Close()
	return nil
}

// wait polls /ping until the server answers.
func (s *Server) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.HTTPAddr + "/ping")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && bytes.HasPrefix(body, []byte("Ok")) {
				return nil
			}
		}
		if s.cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, "server.err.log"))
	stdout, _ := os.ReadFile(filepath.Join(s.Dir, "stdout.log"))
	return fmt.Errorf("clickhouse on %s did not start within %v:\n%s\n%s", s.TCPAddr, timeout, tail(stdout), tail(log))
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop terminates the server and waits for it.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedDir string
	sharedErr error
	dbSeq     atomic.Int64
)

// errNotInstalled means no ClickHouse server binary was found.
var errNotInstalled = errors.New("ClickHouse is not installed (no clickhouse-server or clickhouse binary); apt-get install clickhouse-server")

// Shared returns the test binary's server, starting it on first use: tests
// of one package share it, each in databases of its own (NewDatabase).
// Starting ClickHouse costs seconds, a database nothing. It skips t when
// ClickHouse is not installed. Stop it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(chtest.Run(m)) }
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedDir, sharedErr = startShared()
	}
	if errors.Is(sharedErr, errNotInstalled) {
		t.Skip(sharedErr.Error())
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func startShared() (*Server, string, error) {
	bin, ok := binary()
	if !ok {
		return nil, "", errNotInstalled
	}
	dir, err := os.MkdirTemp("", "waggle-chtest-")
	if err != nil {
		return nil, "", err
	}
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l1.Close()
		return nil, "", err
	}
	s := &Server{Dir: dir, TCPAddr: l1.Addr().String(), HTTPAddr: l2.Addr().String()}
	l1.Close()
	l2.Close()
	if err := s.writeConfig("", []*Server{s}); err != nil {
		return nil, dir, err
	}
	if err := s.start(bin); err != nil {
		return nil, dir, err
	}
	if err := s.wait(60 * time.Second); err != nil {
		s.stop()
		return nil, dir, err
	}
	return s, dir, nil
}

// NewDatabase returns the name of a database no other test of the process
// uses (waggle creates it on first open).
func (s *Server) NewDatabase() string {
	return fmt.Sprintf("waggle_test_%d_%d", os.Getpid(), dbSeq.Add(1))
}

// StopShared stops the server Shared started, if any, and removes its files.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.stop()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	shared, sharedDir, sharedErr = nil, "", nil
}

// Run runs the tests and then stops the shared server; use it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	StopShared()
	return code
}
