package tensor

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// LockProcessMemory locks every page the process has mapped, and every page
// it maps later, in RAM (mlockall with MCL_CURRENT and MCL_FUTURE), so no
// request body, pixel buffer, tensor or mask can be written to swap. This
// covers buffers that rmbgd does not allocate itself (the HTTP server's
// read buffers, the Go heap, goroutine stacks), which locking rmbgd's own
// pools would miss.
//
// Without CAP_IPC_LOCK a process may lock at most RLIMIT_MEMLOCK bytes, and
// under MCL_FUTURE a later mmap that would pass that limit fails, which the
// Go runtime cannot survive. So LockProcessMemory rejects any finite limit
// when the process lacks CAP_IPC_LOCK, even one large enough today. The
// error wraps [ErrMemoryLockRejected], also when mlockall itself fails.
func LockProcessMemory() error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil {
		return fmt.Errorf("read RLIMIT_MEMLOCK: %w", err)
	}
	if lim.Cur != unix.RLIM_INFINITY && !hasIPCLock() {
		return fmt.Errorf("%w: RLIMIT_MEMLOCK is %d KiB", ErrMemoryLockRejected, lim.Cur>>10)
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
		return fmt.Errorf("%w: mlockall: %w", ErrMemoryLockRejected, err)
	}
	return nil
}

// hasIPCLock reports whether the process holds CAP_IPC_LOCK in its
// effective set, which lifts RLIMIT_MEMLOCK.
func hasIPCLock() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	const bit = unix.CAP_IPC_LOCK
	return data[bit/32].Effective&(1<<(bit%32)) != 0
}
