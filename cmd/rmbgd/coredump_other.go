//go:build !linux

package main

import "log/slog"

// disableCoreDumps does nothing outside Linux.
// TODO: set RLIMIT_CORE to zero on the other Unix systems.
func disableCoreDumps(*slog.Logger) {}
