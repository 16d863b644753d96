package imaging

import (
	"math"
	"sync"
	"unsafe"
)

// Byte buffers are pooled by size class. Classes grow by 2^(1/4), so a
// buffer wastes at most 19% of its capacity; buffers under minPooled bytes
// are plain allocations. Every buffer is zeroed before it goes back to its
// pool, so pixels never outlive the request that owned them and a buffer
// from getBytes always starts zeroed.
const (
	minPooled    = 4096
	classesPerX2 = 4
	numClasses   = 30 * classesPerX2 // up to 4 KiB · 2^30
)

var (
	classSize [numClasses]int
	bytePools [numClasses]sync.Pool
)

func init() {
	for c := range classSize {
		f := minPooled * math.Pow(2, float64(c)/classesPerX2)
		classSize[c] = (int(math.Ceil(f)) + 63) &^ 63
	}
}

// sizeClass returns the smallest class holding n bytes, or -1.
func sizeClass(n int) int {
	lo, hi := 0, numClasses
	for lo < hi {
		mid := (lo + hi) / 2
		if classSize[mid] >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == numClasses {
		return -1
	}
	return lo
}

// getBytes returns a zeroed slice of length n.
func getBytes(n int) []uint8 {
	if n < minPooled {
		return make([]uint8, n)
	}
	c := sizeClass(n)
	if c < 0 {
		return make([]uint8, n)
	}
	if p, ok := bytePools[c].Get().(*[]uint8); ok {
		return (*p)[:n]
	}
	return make([]uint8, n, classSize[c])
}

// putBytes zeroes b and returns it to its pool when it came from one. Other
// slices are only zeroed.
func putBytes(b []uint8) {
	b = b[:cap(b)]
	clear(b)
	c := sizeClass(len(b))
	if len(b) < minPooled || c < 0 || classSize[c] != len(b) {
		return
	}
	bytePools[c].Put(&b)
}

// getInt16s returns a zeroed []int16 of length n backed by a pooled byte
// buffer. Return it with putInt16s.
func getInt16s(n int) []int16 {
	b := getBytes(2 * n)
	return unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(b))), cap(b)/2)[:n]
}

func putInt16s(s []int16) {
	if cap(s) == 0 {
		return
	}
	putBytes(unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(s))), 2*cap(s)))
}
