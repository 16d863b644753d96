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
// computing the exponential in float64. dst may alias src. It panics when
// src is shorter than dst.
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
			dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case jobReLU:
		for i, v := range a {
			dst[i] = max(v, 0)
		}
	}
}
