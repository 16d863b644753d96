//go:build unix

package imaging

import (
	"syscall"
	"time"
)

// processCPUTime returns the user and system CPU time the process has
// used, so that a benchmark can report speed per core busy rather than
// per second of a shared machine's wall clock.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
