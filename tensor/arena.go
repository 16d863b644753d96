package tensor

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Arena is a block of float32 memory mapped outside the Go heap. It is not
// safe for concurrent use by itself: the engine gives each run its own
// arena or serializes runs.
type Arena struct {
	mem    []byte
	floats []float32
	locked bool
}

// NewArena maps an arena of n float32 elements, zero-filled. It tries to lock
// the pages in RAM (mlock) so activations never reach swap; Locked reports
// whether that worked, because RLIMIT_MEMLOCK commonly refuses it.
func NewArena(n int) (*Arena, error) {
	if n <= 0 {
		n = 1
	}
	size := n * 4
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("map %d MiB arena: %w", size>>20, err)
	}
	a := &Arena{mem: mem}
	a.floats = unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), n)
	a.locked = unix.Mlock(mem) == nil
	return a, nil
}

// Floats returns the arena as one float32 slice.
func (a *Arena) Floats() []float32 { return a.floats }

// Slice returns the n elements starting at offset.
func (a *Arena) Slice(offset, n int) []float32 {
	return a.floats[offset : offset+n : offset+n]
}

// Locked reports whether the arena's pages are locked in RAM.
func (a *Arena) Locked() bool { return a.locked }

// Bytes returns the arena's size in bytes.
func (a *Arena) Bytes() int { return len(a.mem) }

// Wipe zeroes the whole arena.
func (a *Arena) Wipe() { clear(a.floats) }

// Close zeroes and unmaps the arena. The arena must not be used afterwards.
func (a *Arena) Close() error {
	if a.mem == nil {
		return nil
	}
	a.Wipe()
	err := unix.Munmap(a.mem)
	a.mem, a.floats = nil, nil
	if err != nil {
		return fmt.Errorf("unmap arena: %w", err)
	}
	return nil
}
