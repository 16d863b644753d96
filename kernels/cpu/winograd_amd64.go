//go:build !noasm

package cpu

import (
	"math/bits"
	"unsafe"
)

// winogradTap is the tap table of the AVX2 Winograd products: one tap at
// offset 0, prefetching nothing new.
var winogradTap = [1][2]int64{{0, 0}}

// winogradGemmAVX512 computes, for blocks of 8 rows, M[row][0..47] =
// Σ_k w[k][row]·u[k][0..47]: u holds inC rows of 48 floats, w the packed
// weights [blocks][inC][8] of one position, m blocks·8 rows of 48. It
// needs AVX-512F and inC, blocks ≥ 1. It is convTileAVX512 with one tap,
// no bias and whole stores, tested through the Winograd path.
//
//go:noescape
func winogradGemmAVX512(u, w, m *float32, inC, blocks int)

// winogradInArgs is the argument block of winogradInputAVX512; the
// offsets in winograd_amd64.s must match its layout (a test checks them).
type winogradInArgs struct {
	u       unsafe.Pointer    // U at the vector's first lane, position 0, channel 0
	rows    [4]unsafe.Pointer // each patch row in channel 0, or winogradZeros
	colOff  [4]int64          // bytes from rows[r] to the patch's first column
	stride  [4]int64          // bytes from a row to the same row of the next channel
	mask    [4]uint64         // columns 0..15, 16..31, 2..17, 18..33 inside the image
	inC     int64
	pStride int64 // bytes between the 16 positions of U
}

// winogradInputAVX512 writes the 16 transformed values Bᵀ d B of the
// 4×4 patches of 16 tiles of a tile row, for each of args.inC input
// channels: value p of channel i goes to U[p·pStride/4 + i·48 + lane]. It
// reads 34 columns of each patch row with zeroing masks, so columns
// outside the image are zero padding, and rows outside it read
// winogradZeros with stride 0. It needs AVX-512F. It has no Go twin:
// tests compare the whole Winograd path with ConvReference.
//
//go:noescape
func winogradInputAVX512(args *winogradInArgs)

// winogradInputD2AVX512, winogradInputD4AVX512 and winogradInputD8AVX512
// are winogradInputAVX512 for dilation 2, 4 and 8: the patch columns are
// d apart, so the loads are 2d floats apart and the columns split in
// blocks of d.
//
//go:noescape
func winogradInputD2AVX512(args *winogradInArgs)

//go:noescape
func winogradInputD4AVX512(args *winogradInArgs)

//go:noescape
func winogradInputD8AVX512(args *winogradInArgs)

// winogradZeros backs the patch rows that lie outside the image.
var winogradZeros [64]float32

// winogradOutArgs is the argument block of winogradOutputAVX512; the
// offsets in winograd_amd64.s must match its layout (a test checks them).
type winogradOutArgs struct {
	m           unsafe.Pointer // M at the vector's first lane, output channel 0
	dst         unsafe.Pointer // output plane 0 at the first tile's top-left pixel
	bias        unsafe.Pointer
	outC        int64
	mPStride    int64       // bytes between the 16 positions of M
	planeStride int64       // bytes between output planes
	rowStride   int64       // bytes between output rows
	relu        int64       // nonzero: apply max(0, x)
	mask        [4]uint64   // columns to store: row 0 low 16, high 16, row 1 low, high
	laneMask    [4][8]int32 // mask for the AVX2 kernel: 8 columns each, all ones to store
	permOff     int64       // byte offset of the dilation's interleave table (AVX-512)
}

// winogradOutputAVX512 writes the 2×2 outputs Aᵀ m A + bias of 16 tiles of
// a tile row for each of args.outC output channels, M rows 48 floats
// apart, stores masked by args.mask. It needs AVX-512F. Like the input
// transform it is tested through the whole path against ConvReference.
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

	d := wg.d
	in := winogradInArgs{inC: int64(p.InC), pStride: int64(p.InC * winogradTiles * 4)}
	plane := g.h * g.w
	for v := range 3 {
		vec := group*3 + v
		if vec >= wg.vectors {
			break
		}
		y0, col := wg.tileRow(g, vec/wg.rowVectors), vec%wg.rowVectors*32
		x0 := col - p.PadLeft
		for k, off := range [4]int{0, 16, 2 * d, 2*d + 16} {
			// Lanes i with 0 ≤ x0+off+i < w.
			first, end := max(0, -(x0+off)), min(16, g.w-(x0+off))
			in.mask[k] = 0
			if end > first {
				in.mask[k] = (1<<end - 1) &^ (1<<first - 1)
			}
		}
		for r := range 4 {
			y := y0 - p.PadTop + r*d
			if y < 0 || y >= g.h {
				in.rows[r], in.colOff[r], in.stride[r] = unsafe.Pointer(&winogradZeros[0]), 0, 0
				continue
			}
			// The first column may be −1: the pointer stays at the row
			// start, and the kernel adds the offset.
			in.rows[r], in.colOff[r] = unsafe.Pointer(&j.src[y*g.w]), int64(4*x0)
			in.stride[r] = int64(plane * 4)
		}
		in.u = unsafe.Pointer(&u[v*16])
		switch d {
		case 1:
			winogradInputAVX512(&in)
		case 2:
			winogradInputD2AVX512(&in)
		case 4:
			winogradInputD4AVX512(&in)
		default:
			winogradInputD8AVX512(&in)
		}
	}

	for pos := range 16 {
		winogradGemmAVX512(&u[pos*p.InC*winogradTiles],
			&c.wino[pos*c.blocks*p.InC*blockRows], &m[pos*rows*winogradTiles], p.InC, c.blocks)
	}

	out := winogradOutArgs{
		bias:        unsafe.Pointer(&c.bias[0]),
		outC:        int64(p.OutC),
		mPStride:    int64(rows * winogradTiles * 4),
		planeStride: int64(g.oh * g.ow * 4),
		rowStride:   int64(d * g.ow * 4),
		permOff:     int64(128 * bits.TrailingZeros(uint(d))),
	}
	if p.ReLU {
		out.relu = 1
	}
	for v := range 3 {
		vec := group*3 + v
		if vec >= wg.vectors {
			break
		}
		y0, col := wg.tileRow(g, vec/wg.rowVectors), vec%wg.rowVectors*32
		cols := min(g.ow-col, 32)
		lo, hi := uint64(1)<<min(cols, 16)-1, uint64(1)<<max(cols-16, 0)-1
		out.mask = [4]uint64{lo, hi, 0, 0}
		if y0+d < g.oh {
			out.mask[2], out.mask[3] = lo, hi
		}
		out.m = unsafe.Pointer(&m[v*16])
		out.dst = unsafe.Pointer(&j.dst[y0*g.ow+col])
		winogradOutputAVX512(&out)
	}
}

// winogradInputAVX2 is winogradInputAVX512 for AVX2 and 8 tiles, reading
// the padded input: in points at the first patch's top-left corner in
// channel 0, rows rowStride bytes apart and channels chanStride, and U
// rows are 24 floats apart. It reads 18 floats of 4 rows per channel and
// keeps the row transform of one channel in tmp (16×8 floats). It needs
// AVX2.
//
//go:noescape
func winogradInputAVX2(in, u, tmp *float32, inC, chanStride, rowStride, pStride int)

// winogradOutputAVX2 is winogradOutputAVX512 for AVX2 and 8 tiles, M rows
// 24 floats apart, stores masked by args.laneMask. It needs AVX2.
//
//go:noescape
func winogradOutputAVX2(args *winogradOutArgs)

// winogradGroupAVX2 is winogradGroup for AVX2: 3 vectors of 8 tiles from
// the padded input, the products by convTileAVX2.
func (c *Conv) winogradGroupAVX2(j *job, wg *winogradGeom, work []float32, group int) {
	const tiles = 24
	g := &j.geom
	p := &c.p
	rows := c.blocks * blockRows
	u := work[:16*p.InC*tiles]
	m := work[16*p.InC*tiles : 16*(p.InC+rows)*tiles]
	tmp := work[len(work)-winogradTemp:]

	for v := range 3 {
		vec := group*3 + v
		if vec >= wg.vectors {
			break
		}
		ty, tx0 := vec/wg.rowVectors, vec%wg.rowVectors*8 // dilation 1
		winogradInputAVX2(&j.src[2*ty*g.wq+2*tx0], &u[v*8], &tmp[0], p.InC,
			g.chanStride*4, g.wq*4, p.InC*tiles*4)
	}

	args := tileArgs{
		bias:        unsafe.Pointer(&c.zeroBias[0]),
		taps:        unsafe.Pointer(&winogradTap[0]),
		ntaps:       1,
		inChannels:  int64(p.InC),
		chanStride:  tiles * 4,
		planeStride: tiles * 4,
		blocks:      int64(c.blocks),
		lastRows:    blockRows,
		segOff:      [6]int64{0, 0, 8, 0, 16, 0},
		full:        1,
	}
	for v := range 3 {
		args.laneMask[2*v] = [8]int32{-1, -1, -1, -1, -1, -1, -1, -1}
	}
	for pos := range 16 {
		args.in = unsafe.Pointer(&u[pos*p.InC*tiles])
		args.weights = unsafe.Pointer(&c.wino[pos*c.blocks*p.InC*blockRows])
		args.dst = unsafe.Pointer(&m[pos*rows*tiles])
		convTileAVX2(&args)
	}

	out := winogradOutArgs{
		bias:        unsafe.Pointer(&c.bias[0]),
		outC:        int64(p.OutC),
		mPStride:    int64(rows * tiles * 4),
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
		ty, tx0 := vec/wg.rowVectors, vec%wg.rowVectors*8
		cols := min(g.ow-2*tx0, 16)
		secondRow := 2*ty+1 < g.oh
		for i := range 8 {
			lo, hi := int32(0), int32(0)
			if i < cols {
				lo = -1
			}
			if 8+i < cols {
				hi = -1
			}
			out.laneMask[0][i], out.laneMask[1][i] = lo, hi
			out.laneMask[2][i], out.laneMask[3][i] = 0, 0
			if secondRow {
				out.laneMask[2][i], out.laneMask[3][i] = lo, hi
			}
		}
		out.m = unsafe.Pointer(&m[v*8])
		out.dst = unsafe.Pointer(&j.dst[2*ty*g.ow+2*tx0])
		winogradOutputAVX2(&out)
	}
}
