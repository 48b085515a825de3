package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// Probe is what GET /_probe reports: how the instance is confined, seen from inside.
type Probe struct {
	UID, GID int
	// CapEff and NoNewPrivs are the lines of /proc/self/status ("0000000000000000", "1").
	CapEff     string
	NoNewPrivs string
	// RootWrite is the outcome of creating a file in /: "ok", or the errno's name
	// ("EROFS" on a read-only root, "EACCES" for a user that may not write there).
	RootWrite string
	// TmpWrite is the outcome of creating a file in /tmp, as RootWrite; TmpBytes is the size
	// of the file system there.
	TmpWrite string
	TmpBytes int64
	// PidsMax is the pids cgroup's limit ("max" when there is none; "" when it cannot be read).
	PidsMax string
	// NoFileSoft and NoFileHard are RLIMIT_NOFILE.
	NoFileSoft, NoFileHard uint64
	// Pid and Init: the server's own PID and PID 1's command line, arguments joined by spaces.
	Pid  int
	Init string
}

// DialResult is what GET /_dial?addr=host:port answers: whether a TCP connection could be
// opened within the timeout (the "timeout" parameter, default 2s).
type DialResult struct {
	Connected bool
	Error     string
}

func probe(w http.ResponseWriter, _ *http.Request) {
	p := Probe{UID: os.Getuid(), GID: os.Getgid(), Pid: os.Getpid()}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				switch k {
				case "CapEff":
					p.CapEff = strings.TrimSpace(v)
				case "NoNewPrivs":
					p.NoNewPrivs = strings.TrimSpace(v)
				}
			}
		}
	}
	p.RootWrite = tryWrite("/.hearth-probe")
	p.TmpWrite = tryWrite("/tmp/.hearth-probe")
	var fs syscall.Statfs_t
	if syscall.Statfs("/tmp", &fs) == nil {
		p.TmpBytes = int64(fs.Blocks) * fs.Bsize
	}
	// cgroup v1 mounts the container's own pids cgroup at /sys/fs/cgroup/pids; v2 has the
	// container's cgroup at /sys/fs/cgroup.
	for _, f := range []string{"/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"} {
		if b, err := os.ReadFile(f); err == nil {
			p.PidsMax = strings.TrimSpace(string(b))
			break
		}
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		p.NoFileSoft, p.NoFileHard = rl.Cur, rl.Max
	}
	if b, err := os.ReadFile("/proc/1/cmdline"); err == nil {
		p.Init = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}

// tryWrite creates and removes a file and names the outcome.
func tryWrite(path string) string {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		var errno syscall.Errno
		switch {
		case errors.As(err, &errno) && errno == syscall.EROFS:
			return "EROFS"
		case errors.As(err, &errno) && errno == syscall.EACCES:
			return "EACCES"
		}
		return err.Error()
	}
	_ = f.Close()
	_ = os.Remove(path)
	return "ok"
}

func dial(w http.ResponseWriter, r *http.Request) {
	timeout := 2 * time.Second
	if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && d > 0 {
		timeout = d
	}
	var res DialResult
	c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), timeout)
	if err == nil {
		res.Connected = true
		_ = c.Close()
	} else {
		res.Error = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
