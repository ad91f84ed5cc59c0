package duckdb

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeMeter measures what a write benchmark costs beyond wall-clock time:
// CPU time of the whole process (Go and DuckDB threads), bytes handed to
// write(2)/pwrite(2), and write-ahead log growth.
type writeMeter struct {
	dir      string
	cpu0     time.Duration
	wchar0   int64
	walSizes map[string]int64
	walBytes int64
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// wchar is the bytes this process passed to write system calls.
func wchar() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func newWriteMeter(dir string) *writeMeter {
	m := &writeMeter{dir: dir, walSizes: map[string]int64{}}
	m.sampleWAL()
	m.walBytes = 0
	m.cpu0, m.wchar0 = cpuTime(), wchar()
	return m
}

// sampleWAL adds the growth of every write-ahead log since the last sample;
// a log that shrank was checkpointed, and its new size counts as growth.
func (m *writeMeter) sampleWAL() {
	walks, _ := filepath.Glob(filepath.Join(m.dir, "parts", "*.wal"))
	seen := map[string]bool{}
	for _, p := range walks {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		seen[p] = true
		old := m.walSizes[p]
		if fi.Size() >= old {
			m.walBytes += fi.Size() - old
		} else {
			m.walBytes += fi.Size()
		}
		m.walSizes[p] = fi.Size()
	}
	for p := range m.walSizes {
		if !seen[p] {
			m.walSizes[p] = 0
		}
	}
}

func (m *writeMeter) report(b *testing.B, events int) {
	cpu := cpuTime() - m.cpu0
	w := wchar() - m.wchar0
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(events), "cpu-µs/event")
	b.ReportMetric(float64(m.walBytes)/float64(events), "wal-B/event")
	b.ReportMetric(float64(w)/float64(events), "written-B/event")
}
