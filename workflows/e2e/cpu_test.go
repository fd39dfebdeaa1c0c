package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// stackCPU reads the CPU time each process of the stack has used, so a
// benchmark can say where a phase's time went, per record: on a machine
// whose cores are all busy, that is what a rate is made of.
type stackCPU struct {
	names []string
	pids  []int
}

// newStackCPU names the processes: this one (the test: Temporal's server,
// the bare loop, the provider), the worker, and the processes listening
// on the S3 and Elasticsearch URLs' ports.
func newStackCPU(worker int, s3URL, esURL string) *stackCPU {
	c := &stackCPU{names: []string{"test", "worker"}, pids: []int{os.Getpid(), worker}}
	for _, s := range []struct{ name, url string }{{"s3", s3URL}, {"elasticsearch", esURL}} {
		if pid := listener(s.url); pid > 0 {
			c.names, c.pids = append(c.names, s.name), append(c.pids, pid)
		}
	}
	return c
}

// read returns each process's user and system time, in clock ticks.
func (c *stackCPU) read() []int {
	out := make([]int, len(c.pids))
	for i, pid := range c.pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces) in parentheses.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.Atoi(f[11])
			s, _ := strconv.Atoi(f[12])
			out[i] = u + s
		}
	}
	return out
}

// per says how many CPU seconds each process used per 1,000 records
// between two reads (Linux counts 100 ticks a second).
func (c *stackCPU) per(before, after []int, records int) string {
	var parts []string
	total := 0.0
	for i, name := range c.names {
		s := float64(after[i]-before[i]) / 100 / float64(records) * 1000
		total += s
		parts = append(parts, fmt.Sprintf("%s %.2f", name, s))
	}
	return fmt.Sprintf("%s; all %.2f CPU s per 1,000 records", strings.Join(parts, ", "), total)
}

// listener finds the process listening on rawURL's port on 127.0.0.1
// (0 when none is found): the socket's inode in /proc/net/tcp, then the
// process holding it.
func listener(rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil || u.Port() == "" {
		return 0
	}
	port, _ := strconv.Atoi(u.Port())
	inode := ""
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: listening
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inode = f[9]
			}
		}
	}
	if inode == "" {
		return 0
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == "socket:["+inode+"]" {
			pid, _ := strconv.Atoi(strings.Split(fd, "/")[2])
			return pid
		}
	}
	return 0
}
