package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// straceFileWrite matches the traced calls that create, change or remove
// a file system entry by path or that make a named memory file. Every one
// of them is a violation once the daemon is ready.
var straceFileWrite = regexp.MustCompile(`^(creat|rename|renameat|renameat2|truncate|` +
	`link|linkat|symlink|symlinkat|mkdir|mkdirat|mknod|mknodat|unlink|unlinkat|rmdir|` +
	`memfd_create|memfd_secret|name_to_handle_at|open_by_handle_at|setxattr|lsetxattr|` +
	`removexattr|lremovexattr|utimensat|utime|utimes|chmod|fchmodat|chown|lchown|` +
	`fchownat)\(`)

// straceOpenWrite matches an open that can write: the flags of open,
// openat and openat2 hold one of these.
var straceOpenWrite = regexp.MustCompile(`\bO_(WRONLY|RDWR|CREAT|TRUNC|APPEND|TMPFILE)\b`)

// straceFDWrite matches the calls that write through a descriptor or
// change what it names. With -y, strace prints the descriptor's target
// after it: a path for a file, socket:[…], pipe:[…] or anon_inode:[…]
// otherwise.
var straceFDWrite = regexp.MustCompile(`^(write|pwrite64|writev|pwritev|pwritev2|sendfile|` +
	`sendfile64|copy_file_range|splice|tee|fallocate|ftruncate|fsync|fdatasync|` +
	`sync_file_range|fchmod|fchown|fsetxattr|fremovexattr|futimesat)\(\d+<([^>]*)>`)

// straceSyscall returns the system call part of a line of `strace -f -o`,
// without the process id. A call that another thread's call interrupted
// ends on a later line that starts with "<... NAME resumed>".
func straceSyscall(line string) string {
	_, call, ok := strings.Cut(line, " ")
	if !ok {
		return ""
	}
	return strings.TrimLeft(call, " ")
}

// fileViolation returns why a traced call writes a file, or "".
func fileViolation(call string) string {
	if straceFileWrite.MatchString(call) {
		return "creates, changes or removes a file"
	}
	if strings.HasPrefix(call, "open(") || strings.HasPrefix(call, "openat(") ||
		strings.HasPrefix(call, "openat2(") || strings.HasPrefix(call, "creat(") {
		if straceOpenWrite.MatchString(call) {
			return "opens a file for writing"
		}
		return ""
	}
	if m := straceFDWrite.FindStringSubmatch(call); m != nil {
		target := m[2]
		if strings.HasPrefix(target, "/") && target != "/dev/null" {
			return "writes to a file"
		}
	}
	return ""
}

func TestFileViolation(t *testing.T) {
	tests := []struct {
		call string
		bad  bool
	}{
		{`openat(AT_FDCWD</>, "/root/model.onnx", O_RDONLY|O_CLOEXEC) = 7</root/model.onnx>`,
			false},
		{`openat(AT_FDCWD</>, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 7`, true},
		{`openat(AT_FDCWD</>, "/tmp/x", O_RDWR|O_CLOEXEC) = 7</tmp/x>`, true},
		{`openat(AT_FDCWD</>, "/tmp", O_RDWR|O_TMPFILE, 0600) = 7`, true},
		{`write(2<pipe:[1234]>, "{\"time\"..., 120) = 120`, false},
		{`write(9<socket:[99]>, "HTTP/1.1 200 OK"..., 4096) = 4096`, false},
		{`write(7</tmp/x>, "\x89PNG"..., 4096) = 4096`, true},
		{`write(4<anon_inode:[eventfd]>, "\1\0\0\0\0\0\0\0", 8) = 8`, false},
		{`ftruncate(7</memfd:img (deleted)>, 4096) = 0`, true},
		{`memfd_create("img", MFD_CLOEXEC) = 7</memfd:img (deleted)>`, true},
		{`unlinkat(AT_FDCWD</>, "/tmp/x", 0) = 0`, true},
		{`renameat2(AT_FDCWD</>, "a", AT_FDCWD</>, "b", 0) = 0`, true},
		{`mkdirat(AT_FDCWD</>, "/tmp/d", 0755) = 0`, true},
		{`accept4(3<socket:[1]>, {sa_family=AF_INET}, [16], SOCK_CLOEXEC) = 9<socket:[2]>`,
			false},
		{`close(9<socket:[2]>) = 0`, false},
		{`write(1</dev/null>, "x", 1) = 1`, false},
	}
	for _, tt := range tests {
		t.Run(tt.call[:min(len(tt.call), 30)], func(t *testing.T) {
			if got := fileViolation(tt.call) != ""; got != tt.bad {
				t.Errorf("fileViolation(%q) = %v, expected %v", tt.call, got, tt.bad)
			}
		})
	}
}

// straceChild returns the process id of the program strace started.
func straceChild(t testing.TB, stracePID int) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(stracePID), "task",
		strconv.Itoa(stracePID), "children"))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data))
	if len(fields) != 1 {
		t.Fatalf("strace has children %q, expected one", fields)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestStraceNoFiles runs the daemon under strace with the real model,
// serves good, bad and cancelled requests and stops it with SIGTERM. It
// fails if any traced call from the ready point on creates, opens for
// writing, writes, truncates, renames, links or removes a file, or makes a
// memfd. To see it fail, make daemon/remove.go write the request body
// to os.CreateTemp("", "rmbgd-*").
//
// strace must be installed (Debian: apt-get install strace) and ptrace
// allowed; the test skips otherwise unless RMBGD_REQUIRE_STRACE=1.
func TestStraceNoFiles(t *testing.T) {
	model := privacyModel(t)
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("RMBGD_REQUIRE_STRACE") == "1" {
			t.Fatalf("strace not found: %v", err)
		}
		t.Skip("strace not installed (apt-get install strace)")
	}
	bin := buildBinary(t)
	logPath := filepath.Join(t.TempDir(), "strace.log")
	const maxBody = 2 << 20
	d := startDaemon(t, []string{strace, "-f", "-qq", "-y",
		"-e", "trace=%file,%desc,memfd_create,accept,accept4", "-e", "signal=none",
		"-o", logPath,
		bin, "serve", "--model", model, "--max-body", strconv.Itoa(maxBody)}, nil)
	// strace writes each line as the call returns, so the lines present
	// once /readyz has returned 200 are the start-up.
	readyLines := len(readLines(t, logPath))

	sendPrivacyMix(t, d.addr, maxBody)
	daemonPID := straceChild(t, d.cmd.Process.Pid)
	if err := syscall.Kill(daemonPID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			t.Errorf("strace or rmbgd exit: %v\n%s", err, d.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("rmbgd still running a minute after SIGTERM")
	}

	lines := readLines(t, logPath)
	startup := strings.Join(lines[:readyLines], "\n")
	if !strings.Contains(startup, filepath.Base(model)) {
		t.Fatalf("the start-up trace (%d lines) does not show the model being read",
			readyLines)
	}
	accepts, requests := 0, 0
	for i, line := range lines[readyLines:] {
		call := straceSyscall(line)
		if strings.HasPrefix(call, "accept4(") && strings.Contains(call, "<socket:[") {
			accepts++
		}
		// A read that another thread's call interrupts in the trace shows
		// its data on a later "<... read resumed>" line.
		read := strings.HasPrefix(call, "read(") ||
			strings.HasPrefix(call, "<... read resumed>")
		if read && strings.Contains(call, `"POST /v1/remove `) {
			requests++
		}
		if why := fileViolation(call); why != "" {
			t.Errorf("line %d %s: %s", readyLines+i+1, why, line)
		}
	}
	// The mix opens at least three connections (the client's and the two
	// cancelled ones) and sends 16 removals. Fewer in the trace would mean
	// that it lost the serving part and checked nothing.
	if accepts < 3 || requests < 10 {
		t.Errorf("the trace after the ready point shows %d accepts and %d removal "+
			"requests, expected the mix's", accepts, requests)
	}
}

// readLines returns the lines of a file.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
