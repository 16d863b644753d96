package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// nobodyID is the user and group the unprivileged daemon runs as.
const nobodyID = 65534

// procStatusField returns the value of one "Name:" line of
// /proc/PID/status.
func procStatusField(t testing.TB, pid int, name string) string {
	t.Helper()
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(value)
		}
	}
	t.Fatalf("/proc/%d/status has no %s line", pid, name)
	return ""
}

// checkCoreLimit fails unless /proc/PID/limits shows a core file size
// limit of 0, soft and hard.
func checkCoreLimit(t *testing.T, pid int) {
	t.Helper()
	limits, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "limits"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max core file size"); ok {
			if fields := strings.Fields(rest); len(fields) < 2 ||
				fields[0] != "0" || fields[1] != "0" {
				t.Errorf("core file size limit %q, expected 0 0", strings.TrimSpace(rest))
			}
			return
		}
	}
	t.Errorf("/proc/%d/limits has no core file size line", pid)
}

// copyForNobody copies src into dir, readable by every user.
func copyForNobody(t *testing.T, src, dir string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// asNobody makes a command run as user and group 65534.
func asNobody(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: nobodyID, Gid: nobodyID},
	}
}

// checkNotDumpable fails unless pid, which runs as a user other than root,
// is not dumpable. By proc(5), the files of /proc/PID then belong to
// root:root instead of the process's user.
func checkNotDumpable(t *testing.T, pid int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/proc", strconv.Itoa(pid), "mem"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 || st.Gid != 0 {
		t.Errorf("/proc/%d/mem owned by %d:%d, expected 0:0 (not dumpable)", pid, st.Uid, st.Gid)
	}
}

// checkLockWarning fails unless the log of a daemon whose memory lock was
// rejected warns about it and names the fix.
func checkLockWarning(t *testing.T, log string) {
	t.Helper()
	if !strings.Contains(log, `"msg":"memory not locked`) ||
		!strings.Contains(log, "LimitMEMLOCK=infinity") {
		t.Errorf("no memory lock warning with the fix in the log:\n%s", log)
	}
}

// TestPrivacyLimits checks what serve sets up before it reads a request: a
// core file size limit of 0, a process that is not dumpable, and memory
// locked in RAM. Where the memory lock limit rejects the lock, serve must
// log a warning with the fix. The daemon first runs as the test's user,
// which needs no root. A daemon running as root owns its /proc/PID files
// whether it is dumpable or not, so as root the dumpable check runs on a
// second daemon, started as user 65534. To see it fail, remove the
// Setrlimit or the Prctl call in cmd/rmbgd/coredump_linux.go, or the
// lockMemory call in serve.go.
func TestPrivacyLimits(t *testing.T) {
	model := privacyModel(t)
	bin := buildBinary(t)
	root := os.Geteuid() == 0

	t.Run("own user", func(t *testing.T) {
		d := startDaemon(t, []string{bin, "serve", "--model", model}, nil)
		pid := d.cmd.Process.Pid
		checkCoreLimit(t, pid)
		if !root {
			checkNotDumpable(t, pid)
		}
		// Root, with CAP_IPC_LOCK, may lock any amount. Another user may
		// lock up to its RLIMIT_MEMLOCK, so its daemon either locks its
		// memory or warns that it could not.
		locked := procStatusField(t, pid, "VmLck") != "0 kB"
		logsLocked := strings.Contains(d.stderr.String(), `"msg":"memory locked"`)
		switch {
		case locked && !logsLocked:
			t.Errorf("memory locked, but no memory locked line in the log:\n%s",
				d.stderr.String())
		case !locked && root:
			t.Errorf("VmLck 0 kB as root, expected locked memory")
		case !locked:
			checkLockWarning(t, d.stderr.String())
		}
		d.stop(t)
	})

	t.Run("nobody", func(t *testing.T) {
		if !root {
			t.Skip("running the daemon as user 65534 needs root")
		}
		testLimitsAsNobody(t, bin, model)
	})
}

// testLimitsAsNobody runs the daemon as user 65534, whose memory lock limit
// rejects the lock, and checks the core file size limit, that the process
// is not dumpable, and the lock warning or, with --require-locked-memory,
// the error.
func testLimitsAsNobody(t *testing.T, bin, model string) {
	// The unprivileged daemon reads copies of the binary and the model in
	// a folder that user 65534 can reach.
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nobodyBin := copyForNobody(t, bin, dir)
	nobodyModel := copyForNobody(t, model, dir)

	t.Run("serve", func(t *testing.T) {
		d := startDaemon(t, []string{nobodyBin, "serve", "--model", nobodyModel}, asNobody)
		pid := d.cmd.Process.Pid
		checkCoreLimit(t, pid)
		if uid := strings.Fields(procStatusField(t, pid, "Uid")); uid[0] != strconv.Itoa(nobodyID) {
			t.Fatalf("daemon runs as uid %s, expected %d", uid[0], nobodyID)
		}
		checkNotDumpable(t, pid)
		checkLockWarning(t, d.stderr.String())
		d.stop(t)
	})

	t.Run("required", func(t *testing.T) {
		cmd := exec.Command(nobodyBin, "serve", "--model", nobodyModel,
			"--listen", "127.0.0.1:0", "--require-locked-memory")
		asNobody(cmd)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("serve --require-locked-memory ran without locked memory:\n%s", out)
		}
		if !strings.Contains(string(out), "ulimit -l unlimited") {
			t.Errorf("the error does not name the fix:\n%s", out)
		}
	})
}
