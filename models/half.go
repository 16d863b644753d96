package models

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"
)

// halfBits converts IEEE 754 binary16 bits to float32, exactly: every half
// value, subnormals, infinities and NaN payloads included, is representable.
func halfBits(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: shift the fraction up until its leading one reaches the
	// implicit bit, lowering the exponent once per shift.
	e := uint32(113)
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}

// halfToFloat32 converts little-endian binary16 data in src to dst, which has
// len(src)/2 elements. Large tensors are split across GOMAXPROCS goroutines.
func halfToFloat32(dst []float32, src []byte) {
	const grain = 1 << 18
	workers := min(runtime.GOMAXPROCS(0), (len(dst)+grain-1)/grain)
	if workers <= 1 {
		convertHalves(dst, src)
		return
	}
	var wg sync.WaitGroup
	per := (len(dst) + workers - 1) / workers
	for lo := 0; lo < len(dst); lo += per {
		hi := min(lo+per, len(dst))
		wg.Go(func() { convertHalves(dst[lo:hi], src[2*lo:2*hi]) })
	}
	wg.Wait()
}

func convertHalves(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = halfBits(binary.LittleEndian.Uint16(src[2*i:]))
	}
}
