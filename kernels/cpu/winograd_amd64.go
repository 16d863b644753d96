//go:build !noasm

package cpu

import "unsafe"

// winogradTap is the tap table of the Winograd products: one tap at offset
// 0, prefetching nothing new.
var winogradTap = [1][2]int64{{0, 0}}

// winogradInputAVX512 writes the 16 transformed values Bᵀ d B of the
// 4×4 patches of 16 tiles of a tile row, for each of inC input channels:
// value p of channel i goes to u[p·pStride/4 + i·48 + lane]. in points at
// the first patch's top-left corner in channel 0 of the padded input;
// rows are rowStride bytes apart and channels chanStride bytes. It reads 34
// floats of 4 rows per channel and needs AVX-512F. Its Go twin is
// winogradInputGo.
//
//go:noescape
func winogradInputAVX512(in, u *float32, inC, chanStride, rowStride, pStride int)

// winogradOutArgs is the argument block of winogradOutputAVX512; the
// offsets in winograd_amd64.s must match its layout (a test checks them).
type winogradOutArgs struct {
	m           unsafe.Pointer // M at the vector's first lane, output channel 0
	dst         unsafe.Pointer // output plane 0 at the first tile's top-left pixel
	bias        unsafe.Pointer
	outC        int64
	mPStride    int64     // bytes between the 16 positions of M
	planeStride int64     // bytes between output planes
	rowStride   int64     // bytes between output rows
	relu        int64     // nonzero: apply max(0, x)
	mask        [4]uint64 // columns to store: row 0 low 16, high 16, row 1 low, high
}

// winogradOutputAVX512 writes the 2×2 outputs Aᵀ m A + bias of 16 tiles of
// a tile row for each of args.outC output channels, M rows 48 floats
// apart, stores masked by args.mask. It needs AVX-512F. Its Go twin is
// winogradOutputGo.
//
//go:noescape
func winogradOutputAVX512(args *winogradOutArgs)

// winogradGroup computes tile group number group of j: the input
// transform of its 3 vectors of 16 tiles, the 16 products and the output
// transform, with U and M in work.
func (c *Conv) winogradGroup(j *job, wg *winogradGeom, work []float32, group int) {
	g := &j.geom
	p := &c.p
	rows := c.blocks * blockRows
	u := work[:16*p.InC*winogradTiles]
	m := work[16*p.InC*winogradTiles:]

	for v := range 3 {
		vec := group*3 + v
		if vec >= wg.vectors {
			break
		}
		ty, tx0 := vec/wg.rowVectors, vec%wg.rowVectors*16
		winogradInputAVX512(&j.src[2*ty*g.wq+2*tx0], &u[v*16], p.InC,
			g.chanStride*4, g.wq*4, p.InC*winogradTiles*4)
	}

	args := tileArgs{
		bias:        unsafe.Pointer(&c.zeroBias[0]),
		taps:        unsafe.Pointer(&winogradTap[0]),
		ntaps:       1,
		inChannels:  int64(p.InC),
		chanStride:  winogradTiles * 4,
		planeStride: winogradTiles * 4,
		blocks:      int64(c.blocks),
		lastRows:    blockRows,
		segOff:      [6]int64{0, 0, 16, 0, 32, 0},
		segMask:     [6]uint64{0xffff, 0, 0xffff, 0, 0xffff, 0},
	}
	for pos := range 16 {
		args.in = unsafe.Pointer(&u[pos*p.InC*winogradTiles])
		args.weights = unsafe.Pointer(&c.wino[pos*c.blocks*p.InC*blockRows])
		args.dst = unsafe.Pointer(&m[pos*rows*winogradTiles])
		convTileAVX512(&args)
	}

	out := winogradOutArgs{
		bias:        unsafe.Pointer(&c.bias[0]),
		outC:        int64(p.OutC),
		mPStride:    int64(rows * winogradTiles * 4),
		planeStride: int64(g.oh * g.ow * 4),
		rowStride:   int64(g.ow * 4),
	}
	if p.ReLU {
		out.relu = 1
	}
	for v := range 3 {
		vec := group*3 + v
		if vec >= wg.vectors {
			break
		}
		ty, tx0 := vec/wg.rowVectors, vec%wg.rowVectors*16
		cols := min(g.ow-2*tx0, 32)
		lo, hi := uint64(1)<<min(cols, 16)-1, uint64(1)<<max(cols-16, 0)-1
		out.mask = [4]uint64{lo, hi, 0, 0}
		if 2*ty+1 < g.oh {
			out.mask[2], out.mask[3] = lo, hi
		}
		out.m = unsafe.Pointer(&m[v*16])
		out.dst = unsafe.Pointer(&j.dst[2*ty*g.ow+2*tx0])
		winogradOutputAVX512(&out)
	}
}
