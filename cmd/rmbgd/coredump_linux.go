package main

import (
	"log/slog"

	"golang.org/x/sys/unix"
)

// disableCoreDumps keeps uploaded images out of core dumps: the core size
// limit goes to zero and the process is marked not dumpable, which also
// stops other processes of the same user from attaching to it. A failure
// is logged, not fatal.
func disableCoreDumps(log *slog.Logger) {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		log.Warn("could not disable core dumps", "error", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		log.Warn("could not mark the process not dumpable", "error", err)
	}
}
