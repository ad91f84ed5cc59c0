// Package pgtest runs a throwaway PostgreSQL server for tests: initdb into a
// temporary directory, postgres on a free loopback port with its unix socket
// in that directory, trust authentication, durability off for speed.
//
// It uses the server binaries of the installed PostgreSQL (Debian's package
// puts them in /usr/lib/postgresql/N/bin; WAGGLE_PG_BIN overrides), and skips
// the test when there are none. PostgreSQL refuses to run as root, so as root
// it runs initdb and postgres as the postgres system user, which the package
// creates, and gives that user the temporary directory.
//
// Most tests want Shared: one server per test binary, started on first use,
// with a fresh database per test (NewDatabase). Stop it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
// As a safety net the server also gets SIGQUIT (immediate shutdown) if the
// test process dies.
package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// ErrNotInstalled means no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found: install Debian's postgresql package or set WAGGLE_PG_BIN")

// Server is a running PostgreSQL server.
type Server struct {
	// Dir is the temporary directory: data directory, socket and log.
	Dir string
	// BinDir holds initdb, postgres and pg_dump.
	BinDir string
	// Port is the loopback TCP port.
	Port int
	// URL connects to the "postgres" database as the superuser postgres.
	URL string

	cred   *syscall.Credential
	admin  *sql.DB
	done   chan struct{} // closed when postgres exited
	waitMu sync.Mutex
	proc   *os.Process
	dbSeq  atomic.Int64
}

// BinDir returns the directory of the PostgreSQL server binaries:
// WAGGLE_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else the
// directory of initdb on PATH.
func BinDir() (string, error) {
	if d := os.Getenv("WAGGLE_PG_BIN"); d != "" {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
		return "", fmt.Errorf("%w (WAGGLE_PG_BIN=%s has none)", ErrNotInstalled, d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start runs initdb in a new temporary directory and starts postgres. The
// caller must Stop it. It returns ErrNotInstalled if there are no binaries.
func Start() (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{BinDir: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root, and PostgreSQL refuses to: need the postgres system user to run it as: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.Dir, err = os.MkdirTemp(tempBase(s.cred != nil), "waggle-pgtest-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()
	if s.cred != nil {
		if err := os.Chown(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgtest: give %s to postgres: %w", s.Dir, err)
		}
	}
	data := filepath.Join(s.Dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Env = childEnv()
	initdb.Dir = s.Dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		err = s.startPostgres(data)
		if err == nil {
			break
		}
		if attempt == 2 {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// tempBase is where the temporary directory goes: the usual one, unless the
// postgres user could not reach it.
func tempBase(asOtherUser bool) string {
	base := os.TempDir()
	if !asOtherUser {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == "/" {
			return base
		}
	}
}

func childEnv() []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"}
}

// startPostgres starts postgres on a free port and waits until it accepts
// connections.
func (s *Server) startPostgres(data string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.BinDir, "postgres"), "-D", data,
		"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", s.Dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning",
		"-c", "timezone=UTC")
	cmd.Env = childEnv()
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig is tied to the thread that started the child, so start it
	// from a goroutine that keeps its thread until postgres exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(done)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.waitMu.Lock()
	s.proc, s.done, s.Port = cmd.Process, done, port
	s.waitMu.Unlock()
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	admin, err := sql.Open("pgx", s.URL)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err == nil {
			s.admin = admin
			return nil
		}
		select {
		case <-done:
			_ = admin.Close()
			log, _ := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
			return fmt.Errorf("pgtest: postgres exited at start: %s", lastLines(log, 20))
		default:
		}
		if time.Now().After(deadline) {
			_ = admin.Close()
			_ = s.kill()
			return fmt.Errorf("pgtest: postgres not ready after 60s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// kill stops postgres with a fast shutdown (SIGINT), then SIGKILL after a
// while, and waits for it.
func (s *Server) kill() error {
	s.waitMu.Lock()
	p, done := s.proc, s.done
	s.proc = nil
	s.waitMu.Unlock()
	if p == nil {
		return nil
	}
	_ = p.Signal(syscall.SIGINT)
	select {
	case <-done:
		return nil
	case <-time.After(20 * time.Second):
	}
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	<-done
	return errors.New("pgtest: postgres did not stop in 20s; killed")
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		_ = s.admin.Close()
	}
	err := s.kill()
	if s.Dir != "" {
		err = errors.Join(err, os.RemoveAll(s.Dir))
	}
	return err
}

// NewDatabase creates an empty database of its own for t and returns its
// URL. It is dropped when t ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("waggle_test_%d", s.dbSeq.Add(1))
	if _, err := s.admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := s.admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(s.URL)
	u.Path = "/" + name
	return u.String()
}

// Dump returns pg_dump's plain SQL dump of the database at dbURL: what the
// database holds at rest, for tests that check what is (not) stored.
func (s *Server) Dump(t testing.TB, dbURL string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.BinDir, "pg_dump"), "--no-owner", "--dbname="+dbURL)
	cmd.Env = childEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pgtest: pg_dump: %v\n%s", err, stderr.Bytes())
	}
	return out
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// Shared returns the test binary's server, starting it on first use. It
// skips t if PostgreSQL is not installed and fails it if the server does not
// start. Stop it with StopShared (or Run) from TestMain.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start()
	}
	if errors.Is(sharedErr, ErrNotInstalled) {
		t.Skipf("skipping the PostgreSQL backend: %v", sharedErr)
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// StopShared stops the server Shared started, if any.
func StopShared() error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil {
		return nil
	}
	err := shared.Stop()
	shared, sharedErr = nil, nil
	return err
}

// Run runs the tests and then stops the shared server; use it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if err := StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}
