package cpu

import (
	"fmt"
	"math"
)

// elementChunk is the smallest number of elements one unit of an
// elementwise job covers.
const elementChunk = 1 << 14

// Add writes a[i] + b[i] to dst[i] for every i < len(dst). dst may alias a
// or b. It panics when a or b is shorter than dst.
func Add(pool *Pool, dst, a, b []float32) {
	if len(a) < len(dst) || len(b) < len(dst) {
		panic(fmt.Sprintf("cpu: add of %d and %d floats into %d", len(a), len(b), len(dst)))
	}
	elementwise(pool, jobAdd, dst, a, b)
}

// Sigmoid writes 1/(1+exp(−src[i])) to dst[i] for every i < len(dst),
// within one float32 ulp of the exact value (sigmoid computes it in
// float64). dst may alias src. It panics when src is shorter than dst.
func Sigmoid(pool *Pool, dst, src []float32) {
	if len(src) < len(dst) {
		panic(fmt.Sprintf("cpu: sigmoid of %d floats into %d", len(src), len(dst)))
	}
	elementwise(pool, jobSigmoid, dst, src, nil)
}

// ReLU writes max(0, src[i]) to dst[i] for every i < len(dst). dst may
// alias src. It panics when src is shorter than dst.
func ReLU(pool *Pool, dst, src []float32) {
	if len(src) < len(dst) {
		panic(fmt.Sprintf("cpu: relu of %d floats into %d", len(src), len(dst)))
	}
	elementwise(pool, jobReLU, dst, src, nil)
}

// zeroChunk is the smallest number of elements one unit of Zero covers:
// 32 MiB, the size from which the Go runtime's clear on amd64 writes with
// non-temporal stores (runtime/memclr_amd64.s, Go 1.26). Those skip the
// cache, so a large wipe runs faster (9 ms against 15 ms for 336 MiB on
// two cores of the development machine) and does not evict the working
// set of the work running beside it.
const zeroChunk = 1 << 23

// Zero sets every element of dst to 0 on all of the pool's workers. One
// core cannot saturate the memory bus with stores, so zeroing a large
// buffer this way takes a fraction of the time clear takes.
func Zero(pool *Pool, dst []float32) {
	j := job{kind: jobZero, dst: dst}
	j.chunk, j.units = splitUnits(len(dst), zeroChunk, pool.Workers())
	pool.run(&j)
}

// elementwise splits an elementwise job into chunks.
func elementwise(pool *Pool, kind jobKind, dst, a, b []float32) {
	j := job{kind: kind, dst: dst, src: a, src2: b}
	j.chunk, j.units = splitUnits(len(dst), elementChunk, pool.Workers())
	pool.run(&j)
}

// elementwiseChunk does elements [u·chunk, (u+1)·chunk) of j.
func elementwiseChunk(j *job, u int) {
	first := u * j.chunk
	last := min(first+j.chunk, len(j.dst))
	dst := j.dst[first:last]
	a := j.src[first:last]
	switch j.kind {
	case jobAdd:
		b := j.src2[first:last]
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case jobSigmoid:
		for i, v := range a {
			dst[i] = sigmoid(v)
		}
	case jobReLU:
		for i, v := range a {
			dst[i] = max(v, 0)
		}
	}
}

// sigmoid returns 1/(1+exp(−x)). exp is evaluated in float64 as 2^k·e^r
// with |r| ≤ ln2/2 and a degree-7 Taylor polynomial for e^r, whose
// truncation error (≤ r⁸/8! < 6e-9 relative) is below float32 rounding.
// math.Exp gives the same float32 results about four times slower.
func sigmoid(x float32) float32 {
	const (
		log2e = 1.4426950408889634
		ln2Hi = 6.93147180369123816490e-01 // ln 2 split so that k·ln2Hi is exact
		ln2Lo = 1.90821492927058770002e-10
	)
	// For x > 100 the result is 1 in float32, and for x < −700 it is 0
	// while 2^k stays a normal float64.
	y := min(max(-float64(x), -100), 700)
	// Adding and subtracting 1.5·2^52 rounds to the nearest integer.
	k := (y*log2e + 0x1.8p52) - 0x1.8p52
	r := y - k*ln2Hi - k*ln2Lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	e := p * math.Float64frombits(uint64(int64(k)+1023)<<52)
	return float32(1 / (1 + e))
}
