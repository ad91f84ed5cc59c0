package main

import (
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildWaggle builds the waggle binary from the module at root into dir.
func buildWaggle(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "waggle")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/waggle")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build waggle: %w", err)
	}
	return bin, nil
}

// moduleRoot finds the directory holding go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// node is a running `waggle serve` process.
type node struct {
	cmd    *exec.Cmd
	base   string
	key    string
	stderr *lockedBuffer
	exited chan struct{}
	client *http.Client
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 { // keep the tail bounded
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startNode starts bin serving dataDir with the given API key and waits for
// /healthz to answer 200.
func startNode(bin, dataDir, key string, env ...string) (*node, error) {
	var addrs [5]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	n := &node{base: "http://" + addrs[0], key: key, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	n.cmd = exec.Command(bin, "serve")
	n.cmd.Env = append(os.Environ(),
		"WAGGLE_DATA_DIR="+dataDir,
		"WAGGLE_HTTP_ADDR="+addrs[0],
		"WAGGLE_OTLP_GRPC_ADDR="+addrs[1],
		"WAGGLE_OTLP_HTTP_ADDR="+addrs[2],
		"WAGGLE_XRAY_ADDR="+addrs[3],
		"WAGGLE_API_KEY="+key,
		"WAGGLE_LOG_LEVEL=warn",
	)
	n.cmd.Env = append(n.cmd.Env, env...)
	n.cmd.Stdout = io.Discard
	n.cmd.Stderr = n.stderr
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	n.client = &http.Client{Transport: &http.Transport{
		MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(n.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n, nil
			}
		}
		select {
		case <-n.exited:
			return nil, fmt.Errorf("waggle exited during start-up: %s", n.stderr)
		default:
		}
		if time.Now().After(deadline) {
			n.kill()
			return nil, fmt.Errorf("waggle not healthy after 2m: %s", n.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *node) pid() int { return n.cmd.Process.Pid }

func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop() error {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(2 * time.Minute):
		n.kill()
		return fmt.Errorf("waggle did not exit within 2m of SIGTERM")
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("waggle exited with %d: %s", code, n.stderr)
	}
	return nil
}

// do sends a JSON request with the node's key and decodes a 2xx answer into
// out (when not nil).
func (n *node) do(ctx context.Context, method, path string, body any, out any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Honeycomb-Team", n.key)
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, raw, nil
}

// procCPU is a process's user+system CPU time so far (all its threads).
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields follow the last ')'.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / time.Duration(clockTicks()), nil
}

var clkTck = sync.OnceValue(func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
})

func clockTicks() int64 { return clkTck() }

// procStatusKB reads a "Vm…" line of /proc/<pid>/status in bytes.
func procStatusBytes(pid int, field string) (int64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU samples /proc/stat: busy and total jiffies of all CPUs.
type machineCPU struct{ busy, total int64 }

func sampleMachine() machineCPU {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	var m machineCPU
	for i, v := range f[1:] {
		x, _ := strconv.ParseInt(v, 10, 64)
		m.total += x
		if i != 3 && i != 4 { // idle, iowait
			m.busy += x
		}
	}
	return m
}

// busyCores is the average number of busy CPUs between two samples.
func busyCores(a, b machineCPU, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return float64(b.busy-a.busy) / float64(clockTicks()) / wall.Seconds()
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// threadsCPU is the CPU time of a process's live threads, summed from
// /proc/<pid>/task/*/schedstat (nanoseconds, unlike /proc/<pid>/stat's clock
// ticks); threads that exited are not counted, so use it over short spans.
func threadsCPU(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range entries {
		raw, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += ns
		}
	}
	return time.Duration(total)
}
