//go:build !noasm

package cpu

import "unsafe"

// tileArgs is the argument block of the assembly micro-kernels; the
// offsets in conv_amd64.s must match its layout (a test checks them).
// Pointers are raw because the kernels index them with negative and
// masked-off offsets that a Go slice could not express.
type tileArgs struct {
	in          unsafe.Pointer // padded input at the tile's first flat position, channel 0
	weights     unsafe.Pointer // packed weights of the first block
	bias        unsafe.Pointer // packed bias of the first block
	dst         unsafe.Pointer // output plane of the first block's first channel
	taps        unsafe.Pointer // *[ntaps][2]int64: offset in elements, prefetch in bytes
	ntaps       int64
	inChannels  int64
	chanStride  int64       // bytes between input channels in the padded input
	planeStride int64       // bytes between output channel planes
	blocks      int64       // output channel blocks to compute, ≥ 1
	lastRows    int64       // channels to store of the last block, 1..8
	relu        int64       // nonzero: apply max(0, x) before storing
	segOff      [6]int64    // store offsets, see convGeom.fillSegments
	segMask     [6]uint64   // store masks, see convGeom.fillSegments
	laneMask    [6][8]int32 // segMask as AVX2 lane masks (all ones: store)
	wsave       int64       // written by convTileAVX2
	full        int64       // nonzero: every vector has mask 0xff in row r0 (AVX2 only)
}

// convTileAVX512 computes args.blocks blocks of 8 output channels at the 48
// flat positions from args.in: 24 zmm accumulators, one pass over the
// input channels and taps per block, stores masked by args.segMask (16-lane
// segments). It needs AVX-512F, the segments built for 16 lanes, and weights,
// bias and input readable over the whole reach. Its Go twin is
// Conv.tileGo.
//
//go:noescape
func convTileAVX512(args *tileArgs)

// convTileAVX2 is convTileAVX512 for AVX2 and FMA: 24 flat positions, each
// block computed as two halves of 4 output channels in 12 ymm
// accumulators, stores masked by args.laneMask (8-lane segments), or
// whole when args.full is set. A half with no channel to store is
// skipped.
//
//go:noescape
func convTileAVX2(args *tileArgs)

// tileSIMD runs the assembly micro-kernel j.impl on output channel blocks
// [b0, b1) of the tile at flat position q0.
func (c *Conv) tileSIMD(j *job, q0, b0, b1 int) {
	g := &j.geom
	k := c.p.InC * g.ntaps
	planeOut := g.oh * g.ow
	args := tileArgs{
		in:          unsafe.Pointer(&j.src[q0]),
		weights:     unsafe.Pointer(&c.packed[b0*k*blockRows]),
		bias:        unsafe.Pointer(&c.bias[b0*blockRows]),
		dst:         unsafe.Pointer(&j.dst[b0*blockRows*planeOut]),
		taps:        unsafe.Pointer(&g.kernelTaps[0]),
		ntaps:       int64(g.ntaps),
		inChannels:  int64(c.p.InC),
		chanStride:  int64(g.chanStride * 4),
		planeStride: int64(planeOut * 4),
		blocks:      int64(b1 - b0),
		lastRows:    int64(min(blockRows, c.p.OutC-(b1-1)*blockRows)),
	}
	if c.p.ReLU {
		args.relu = 1
	}
	if j.impl == implAVX512 {
		g.fillSegments(q0, 16, args.segOff[:], args.segMask[:])
		convTileAVX512(&args)
		return
	}
	g.fillSegments(q0, 8, args.segOff[:], args.segMask[:])
	args.full = 1
	for s, m := range args.segMask {
		if want := uint64(0xff * (1 - s%2)); m != want {
			args.full = 0
		}
		for i := range 8 {
			args.laneMask[s][i] = -int32(m >> i & 1)
		}
	}
	convTileAVX2(&args)
}

// narrowArgs is the argument block of convNarrowAVX512; the offsets in
// conv_amd64.s must match its layout (a test checks them).
type narrowArgs struct {
	in         unsafe.Pointer // padded input at the tile's first flat position, channel 0
	weights    unsafe.Pointer // the channel's row of the packed weights (stride 8 floats)
	bias       unsafe.Pointer // the channel's bias
	dst        unsafe.Pointer // the channel's output plane
	taps       unsafe.Pointer // *[ntaps][2]int64: offset in elements, prefetch in bytes
	ntaps      int64
	inChannels int64
	chanStride int64 // bytes between input channels in the padded input
	relu       int64 // nonzero: apply max(0, x) before storing
	segOff     [48]int64
	segMask    [48]uint64
}

// convNarrowAVX512 computes one output channel at the 384 flat positions
// from args.in in 24 zmm accumulators and stores them masked by
// args.segMask (16-lane segments). It needs AVX-512F and weights, bias and
// input readable over the whole reach. Its Go twin is Conv.tileGo.
//
//go:noescape
func convNarrowAVX512(args *narrowArgs)

// tileNarrow runs convNarrowAVX512 for every output channel of the tile at
// flat position q0.
func (c *Conv) tileNarrow(j *job, q0 int) {
	g := &j.geom
	planeOut := g.oh * g.ow
	args := narrowArgs{
		in:         unsafe.Pointer(&j.src[q0]),
		taps:       unsafe.Pointer(&g.kernelTaps[0]),
		ntaps:      int64(g.ntaps),
		inChannels: int64(c.p.InC),
		chanStride: int64(g.chanStride * 4),
	}
	if c.p.ReLU {
		args.relu = 1
	}
	g.fillSegments(q0, 16, args.segOff[:], args.segMask[:])
	for o := range c.p.OutC {
		args.weights = unsafe.Pointer(&c.packed[o])
		args.bias = unsafe.Pointer(&c.bias[o])
		args.dst = unsafe.Pointer(&j.dst[o*planeOut])
		convNarrowAVX512(&args)
	}
}
