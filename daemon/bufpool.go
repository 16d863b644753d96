package daemon

import (
	"math/bits"
	"sync"
)

// Size classes of the buffer pool: powers of two from 1<<minClassShift to
// 1<<maxClassShift bytes. A request for more than the largest class gets a
// buffer of its own that is zeroed and dropped on release.
const (
	minClassShift = 12 // 4 KiB
	maxClassShift = 30 // 1 GiB
	numClasses    = maxClassShift - minClassShift + 1
)

// bufPool hands out byte buffers for request data (decoded images, JSON
// responses). Every buffer is zeroed before it goes back to the pool, so no
// image bytes outlive their request in memory the daemon reuses.
//
// The zero value is ready to use and safe for concurrent use.
type bufPool struct {
	classes [numClasses]sync.Pool
}

// pooledBuf is a buffer from a bufPool. B has the length asked for; only
// B[:len(B)] may be written, because release zeroes exactly that range.
type pooledBuf struct {
	B     []byte
	class int // index into bufPool.classes, or -1 when not pooled
}

// get returns a buffer of length n (n ≥ 0) that the caller owns until it
// passes it to put. Its contents are zero.
func (p *bufPool) get(n int) *pooledBuf {
	class := sizeClass(n)
	if class < 0 {
		return &pooledBuf{B: make([]byte, n), class: -1}
	}
	if v := p.classes[class].Get(); v != nil {
		b := v.(*pooledBuf)
		b.B = b.B[:n]
		return b
	}
	return &pooledBuf{B: make([]byte, n, 1<<(class+minClassShift)), class: class}
}

// put zeroes b and returns it to the pool. b must not be used afterwards.
// put(nil) does nothing.
func (p *bufPool) put(b *pooledBuf) {
	if b == nil {
		return
	}
	clear(b.B)
	if b.class < 0 {
		b.B = nil
		return
	}
	b.B = b.B[:0]
	p.classes[b.class].Put(b)
}

// sizeClass returns the index of the smallest class that holds n bytes, or
// -1 when n is larger than the largest class.
func sizeClass(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	shift := bits.Len(uint(n - 1))
	if shift > maxClassShift {
		return -1
	}
	return shift - minClassShift
}
