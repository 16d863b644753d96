//go:build !linux

package tensor

import "fmt"

// LockProcessMemory is not implemented outside Linux and always returns an
// error wrapping [ErrMemoryLockRejected].
// TODO: use mlockall on the other Unix systems that have it.
func LockProcessMemory() error {
	return fmt.Errorf("%w: not implemented on this system", ErrMemoryLockRejected)
}
