package cpu

import (
	"fmt"
	"time"
)

// jobKind selects the work a job's units do.
type jobKind uint8

const (
	jobConvPad   jobKind = iota + 1 // copy input planes into padded (phase) planes
	jobConvTiles                    // run micro-kernel tiles
	jobWinograd                     // run Winograd tile groups
	jobMaxPool                      // pool planes
	jobResize                       // resize planes
	jobAdd                          // add chunks
	jobSigmoid                      // sigmoid of chunks
	jobReLU                         // ReLU of chunks
	jobZero                         // zero chunks
	jobPanic                        // panic on worker c, for tests of the pool
)

// job is one kernel call split into units. It is a plain value with no
// function fields, so that handing it to the pool allocates nothing.
type job struct {
	kind       jobKind
	units      int
	maxWorkers int // if positive, run on at most this many workers

	conv  *Conv
	geom  convGeom
	impl  convImpl
	tiles int // tiles per image, for jobConvTiles
	strip int // consecutive tiles per unit, for jobConvTiles
	group int // output channel blocks per unit, for jobConvTiles

	dst, src, src2 []float32
	work           []float32 // per-worker buffers, for jobWinograd

	n, c, h, w, oh, ow int
	pool               PoolParams
	chunk              int // elements per unit, for elementwise jobs
}

// runUnit does unit u of j on the given worker (0 .. Workers()−1).
func (j *job) runUnit(u, worker int) {
	switch j.kind {
	case jobConvPad:
		j.conv.padPlane(&j.geom, j.dst, j.src, u)
	case jobConvTiles:
		j.conv.runUnit(j, u)
	case jobWinograd:
		j.conv.runWinogradUnit(j, u, worker)
	case jobMaxPool:
		maxPoolPlanes(j, u)
	case jobResize:
		resizePlanes(j, u)
	case jobAdd, jobSigmoid, jobReLU:
		elementwiseChunk(j, u)
	case jobPanic:
		time.Sleep(200 * time.Microsecond) // long enough for every worker to join
		if worker == j.c {
			panic(fmt.Sprintf("unit %d failed on worker %d", u, worker))
		}
	case jobZero:
		clear(j.dst[u*j.chunk : min((u+1)*j.chunk, len(j.dst))])
	}
}
