package cpu

import (
	"errors"
	"fmt"
)

// blockRows is the number of output channels in one block of packed
// weights: the micro-kernels compute 8 output channels at a time.
const blockRows = 8

// maxTaps is the largest KH·KW a Conv accepts.
const maxTaps = 64

// blockMajorMaxK is the largest InC·KH·KW for which a unit computes its
// tiles one output channel block at a time. It is set from timings of
// ISNet's 3-channel stem (K = 27, faster block by block) and its
// 16-channel layers (K = 144, slower).
const blockMajorMaxK = 64

// tilePixels is the number of flat output positions in one tile of the
// AVX-512 and portable kernels (3 vectors of 16 lanes).
const tilePixels = 48

// ConvParams describes a 2-D convolution with group 1 over NCHW float32
// tensors. Every field except the paddings and ReLU must be positive.
type ConvParams struct {
	InC, OutC                            int // input and output channels
	KH, KW                               int // kernel height and width
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int // zero padding, in pixels
	DilationH, DilationW                 int
	ReLU                                 bool // apply max(0, x) to the output
}

// OutSize returns the output height and width for an h×w input. A result
// ≤ 0 means the kernel does not fit in the padded input.
func (p ConvParams) OutSize(h, w int) (oh, ow int) {
	oh = outLen(h, p.PadTop+p.PadBottom, p.KH, p.DilationH, p.StrideH)
	ow = outLen(w, p.PadLeft+p.PadRight, p.KW, p.DilationW, p.StrideW)
	return oh, ow
}

// outLen is the output length along one axis.
func outLen(in, pad, k, dilation, stride int) int {
	span := in + pad - dilation*(k-1) - 1
	if span < 0 {
		return 0
	}
	return span/stride + 1
}

// validate reports the first invalid field of p.
func (p ConvParams) validate() error {
	fields := []struct {
		name  string
		value int
	}{
		{"InC", p.InC}, {"OutC", p.OutC}, {"KH", p.KH}, {"KW", p.KW},
		{"StrideH", p.StrideH}, {"StrideW", p.StrideW},
		{"DilationH", p.DilationH}, {"DilationW", p.DilationW},
	}
	for _, f := range fields {
		if f.value <= 0 {
			return fmt.Errorf("invalid %s %d: must be positive", f.name, f.value)
		}
	}
	if p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0 {
		return fmt.Errorf("invalid padding %d,%d,%d,%d (top, left, bottom, right): "+
			"must not be negative", p.PadTop, p.PadLeft, p.PadBottom, p.PadRight)
	}
	if p.KH*p.KW > maxTaps {
		return fmt.Errorf("unsupported kernel %d×%d: more than %d taps", p.KH, p.KW, maxTaps)
	}
	return nil
}

// ErrConvShape is returned (wrapped) by NewConv when the weight or bias
// length does not match the parameters.
var ErrConvShape = errors.New("cpu: convolution weight or bias length mismatch")

// Conv is a convolution with its weights repacked for the micro-kernels.
// It is immutable after NewConv, so any number of goroutines may call Run
// at once, each with its own scratch and destination.
type Conv struct {
	p       ConvParams
	blocks  int       // ceil(OutC / blockRows)
	packed  []float32 // [blocks][InC][KH·KW][blockRows], zero rows past OutC
	bias    []float32 // [blocks·blockRows], zero past OutC
	tapRows []int     // kh of each tap, in packing order
	tapCols []int     // kw of each tap, in packing order

	// wino holds the Winograd-transformed weights, [16][blocks][InC][8],
	// when the convolution is eligible for that path; nil otherwise.
	wino     []float32
	zeroBias []float32 // blocks·8 zeros for the Winograd products
}

// NewConv checks p and packs weight (OIHW: OutC×InC×KH×KW) and bias (OutC)
// into a new Conv; it keeps no reference to either slice. It returns an
// error wrapping ErrConvShape when a length is wrong, and a plain error for
// invalid parameters.
func NewConv(p ConvParams, weight, bias []float32) (*Conv, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("cpu: new conv: %w", err)
	}
	taps := p.KH * p.KW
	if want := p.OutC * p.InC * taps; len(weight) != want {
		return nil, fmt.Errorf("%w: weight has %d floats, want %d (%d×%d×%d×%d)",
			ErrConvShape, len(weight), want, p.OutC, p.InC, p.KH, p.KW)
	}
	if len(bias) != p.OutC {
		return nil, fmt.Errorf("%w: bias has %d floats, want %d", ErrConvShape, len(bias), p.OutC)
	}

	c := &Conv{p: p, blocks: (p.OutC + blockRows - 1) / blockRows}
	for kh := range p.KH {
		for kw := range p.KW {
			c.tapRows = append(c.tapRows, kh)
			c.tapCols = append(c.tapCols, kw)
		}
	}
	c.packed = make([]float32, c.blocks*p.InC*taps*blockRows)
	c.bias = make([]float32, c.blocks*blockRows)
	copy(c.bias, bias)
	for o := range p.OutC {
		block, row := o/blockRows, o%blockRows
		for i := range p.InC {
			for t := range taps {
				src := weight[(o*p.InC+i)*taps+c.tapRows[t]*p.KW+c.tapCols[t]]
				c.packed[((block*p.InC+i)*taps+t)*blockRows+row] = src
			}
		}
	}
	if winogradEligible(p) && (UseAVX512 || UseAVX2 && p.DilationH == 1) {
		c.packWinograd(weight)
	}
	return c, nil
}

// Params returns the parameters c was built with.
func (c *Conv) Params() ConvParams { return c.p }

// convGeom is the layout of one Run: the padded input planes, the flat
// output positions and the tap offsets, all in float32 elements.
type convGeom struct {
	h, w, oh, ow int
	sh, sw       int // phases per axis (the strides)
	wq, hq       int // width and height of a padded (phase) plane
	plane        int // wq·hq
	chanStride   int // floats per input channel: sh·sw planes
	padded       int // floats of scratch for one image, slack included
	flat         int // flat output positions per image: (oh−1)·wq + ow
	ntaps        int
	taps         [maxTaps]int64 // offset of each tap from the flat output position
	tapRow       [maxTaps]int64 // offset of the padded row the tap reads, ≤ taps[t]

	// kernelTaps is, for the assembly kernels, each tap's element offset
	// and the byte offset of a cache line the next tile will read, so a
	// tile prefetches its successor's input while it computes.
	kernelTaps [maxTaps][2]int64
}

// geometry returns the layout of a Run on an h×w input. It panics when the
// kernel does not fit.
func (c *Conv) geometry(h, w int) convGeom {
	p := &c.p
	g := convGeom{h: h, w: w, sh: p.StrideH, sw: p.StrideW, ntaps: p.KH * p.KW}
	g.oh, g.ow = p.OutSize(h, w)
	if h <= 0 || w <= 0 || g.oh <= 0 || g.ow <= 0 {
		panic(fmt.Sprintf("cpu: conv %d×%d kernel does not fit a %d×%d input", p.KH, p.KW, h, w))
	}

	// Tap (kh, kw) of output (y, x) reads padded row y·sh + kh·dh. That
	// is row y + kh·dh/sh of phase (kh·dh) mod sh, and likewise for
	// columns.
	maxRow := (p.KH - 1) * p.DilationH / g.sh
	maxCol := (p.KW - 1) * p.DilationW / g.sw
	if g.sw == 1 {
		// Rows share their padding: the reads of a row's right edge run
		// into the next row's left padding, which is zero.
		g.wq = max(w+max(p.PadLeft, p.PadRight), g.ow)
	} else {
		g.wq = g.ow + maxCol
	}
	// One more row than the taps reach: right-edge reads of the last
	// row wrap into it.
	g.hq = g.oh + maxRow + 1
	g.plane = g.wq * g.hq
	g.chanStride = g.sh * g.sw * g.plane

	maxTap := 0
	for t := range g.ntaps {
		dy, dx := c.tapRows[t]*p.DilationH, c.tapCols[t]*p.DilationW
		phase := (dy%g.sh)*g.sw + dx%g.sw
		row := phase*g.plane + dy/g.sh*g.wq
		off := row + dx/g.sw
		g.taps[t], g.tapRow[t] = int64(off), int64(row)
		maxTap = max(maxTap, off)
	}
	g.flat = (g.oh-1)*g.wq + g.ow

	// Tiles read whole vectors past the last flat position, and from the
	// last channel those reads leave the planes: keep them in scratch for
	// the largest tile.
	tiles := (g.flat + narrowPixels - 1) / narrowPixels
	reach := (p.InC-1)*g.chanStride + tiles*narrowPixels + maxTap
	g.padded = max(p.InC*g.chanStride, reach) + 16
	if c.wino != nil {
		g.padded = max(g.padded, c.winogradReachAVX2(&g)+16)
	}
	return g
}

// setPrefetch fills g.kernelTaps for tiles of the given number of flat
// positions. The i-th tap on a padded row prefetches the i-th cache line
// of that row's span in the next tile. A 3×3 kernel has 3 taps per row,
// and a 48-position tile needs 3 to 5 lines of 64 bytes per row, so the
// hardware prefetcher or a demand load fetches the rest.
func (g *convGeom) setPrefetch(pixels int) {
	for t := range g.ntaps {
		line := 0
		for u := range t {
			if g.tapRow[u] == g.tapRow[t] {
				line++
			}
		}
		g.kernelTaps[t] = [2]int64{g.taps[t], 4*(g.tapRow[t]+int64(pixels)) + 64*int64(line)}
	}
}

// ScratchFloats returns the number of float32s of scratch that Run needs
// for an h×w input, for all workers together and any batch size, with the
// current UseAVX512 and UseAVX2. The direct path needs the padded input
// of one image. The Winograd path needs a buffer for each of up to
// GOMAXPROCS workers, after the padded input with AVX2. Run with less
// scratch runs Winograd on fewer workers, or takes the direct path if the
// scratch holds the padded input. ScratchFloats panics when the kernel
// does not fit the input.
func (c *Conv) ScratchFloats(h, w int) int {
	g := c.geometry(h, w)
	if impl, base, ok := c.winogradPlan(&g); ok {
		return c.winogradScratch(&g, impl, base)
	}
	return g.padded
}

// Run computes dst (n×OutC×oh×ow) from src (n×InC×h×w) using scratch, which
// should have ScratchFloats(h, w) elements and whose contents are
// overwritten. The images of a batch run one after another, each split
// across the pool's workers. Run allocates nothing. It panics when a slice
// is too short or the kernel does not fit the input; dst must not overlap
// src or scratch.
func (c *Conv) Run(pool *Pool, dst, src, scratch []float32, n, h, w int) {
	g := c.geometry(h, w)
	p := &c.p
	inSize, outSize := p.InC*h*w, p.OutC*g.oh*g.ow
	switch {
	case n <= 0:
		panic(fmt.Sprintf("cpu: conv batch size %d", n))
	case len(src) < n*inSize:
		panic(fmt.Sprintf("cpu: conv src has %d floats, want %d", len(src), n*inSize))
	case len(dst) < n*outSize:
		panic(fmt.Sprintf("cpu: conv dst has %d floats, want %d", len(dst), n*outSize))
	}
	if impl, base, ok := c.winogradPlan(&g); ok {
		slot := c.winogradGeometry(&g, impl.lanes()).slot
		if workers := (len(scratch) - base) / slot; workers > 0 {
			c.runWinograd(pool, dst, src, scratch, &g, n, impl, base, workers)
			return
		}
	}
	if len(scratch) < g.padded {
		panic(fmt.Sprintf("cpu: conv scratch has %d floats, want %d", len(scratch),
			c.ScratchFloats(h, w)))
	}
	padded := scratch[:g.padded]
	clear(padded[p.InC*g.chanStride:])

	impl := chooseImpl(&g, p.OutC)
	g.setPrefetch(impl.pixels())
	j := job{conv: c, geom: g, impl: impl}
	j.tiles = (g.flat + impl.pixels() - 1) / impl.pixels()
	j.strip, j.group = c.split(j.tiles, pool.Workers())
	strips := (j.tiles + j.strip - 1) / j.strip
	groups := (c.blocks + j.group - 1) / j.group
	for i := range n {
		img := src[i*inSize : (i+1)*inSize]
		j.kind, j.units, j.dst, j.src = jobConvPad, p.InC*g.sh*g.sw, padded, img
		pool.run(&j)

		j.kind, j.dst, j.src = jobConvTiles, dst[i*outSize:(i+1)*outSize], padded
		j.units = strips * groups
		pool.run(&j)
	}
}

// runWinograd is Run on the Winograd path of kernel impl, on at most the
// given number of workers: scratch holds that many U and M buffers from
// base on. The AVX-512 input transform reads src directly, the AVX2 one a
// padded copy in scratch[:base].
func (c *Conv) runWinograd(pool *Pool, dst, src, scratch []float32, g *convGeom, n int,
	impl convImpl, base, workers int) {
	p := &c.p
	inSize, outSize := p.InC*g.h*g.w, p.OutC*g.oh*g.ow
	wg := c.winogradGeometry(g, impl.lanes())
	j := job{conv: c, geom: *g, impl: impl, work: scratch[base:]}
	j.strip = max(1, wg.groups/(8*min(workers, pool.Workers())))
	units := (wg.groups + j.strip - 1) / j.strip
	for i := range n {
		img := src[i*inSize : (i+1)*inSize]
		if impl == implAVX2 {
			// The AVX2 input transform reads the padded planes.
			padded := scratch[:g.padded]
			clear(padded[p.InC*g.chanStride:])
			j.kind, j.units, j.maxWorkers, j.dst, j.src = jobConvPad, p.InC, 0, padded, img
			pool.run(&j)
			img = padded
		}
		j.kind, j.units, j.maxWorkers = jobWinograd, units, workers
		j.dst, j.src = dst[i*outSize:(i+1)*outSize], img
		pool.run(&j)
	}
}

// split returns how many consecutive tiles (a strip) and how many output
// channel blocks (a group) one unit of work computes. A worker sweeping a
// strip finds most of each tile's input in cache from the previous tile
// and the rows above. Groups shrink from all blocks only where the strips
// alone give too few units to balance the load.
func (c *Conv) split(tiles, workers int) (strip, group int) {
	const unitsPerWorker = 8
	strip = max(1, tiles/(unitsPerWorker*workers))
	group = c.blocks
	for group > 1 && tiles*((c.blocks+group-1)/group) < 2*unitsPerWorker*workers {
		group = (group + 1) / 2
	}
	return strip, group
}

// padPlane writes padded plane u of img into padded: phase u mod (sh·sw)
// of input channel u / (sh·sw).
func (c *Conv) padPlane(g *convGeom, padded, img []float32, u int) {
	p := &c.p
	phases := g.sh * g.sw
	ci, a, b := u/phases, u%phases/g.sw, u%g.sw
	in := img[ci*g.h*g.w : (ci+1)*g.h*g.w]
	start := ci*g.chanStride + (a*g.sw+b)*g.plane
	plane := padded[start : start+g.plane]

	// Row j of the phase holds input columns j·sw + b − PadLeft; those
	// in [0, w) are the columns [lo, hi).
	lo := min(max(0, (p.PadLeft-b+g.sw-1)/g.sw), g.wq)
	hi := min(max(lo, (g.w-1+p.PadLeft-b)/g.sw+1), g.wq)
	if g.w-1+p.PadLeft-b < 0 {
		hi = lo
	}
	for i := range g.hq {
		row := plane[i*g.wq : (i+1)*g.wq]
		y := i*g.sh + a - p.PadTop
		if y < 0 || y >= g.h || lo == hi {
			clear(row)
			continue
		}
		src := in[y*g.w : (y+1)*g.w]
		clear(row[:lo])
		clear(row[hi:])
		if g.sw == 1 {
			copy(row[lo:hi], src[lo-p.PadLeft:])
			continue
		}
		x := lo*g.sw + b - p.PadLeft
		for j := lo; j < hi; j++ {
			row[j] = src[x]
			x += g.sw
		}
	}
}

// convImpl names a micro-kernel.
type convImpl uint8

const (
	implGo convImpl = iota
	implAVX2
	implAVX512
	implAVX512Narrow // one output channel at a time, for OutC ≤ narrowMaxOut
)

// narrowMaxOut is the largest OutC that the one-channel kernel computes:
// up to there it beats computing a block of 8 rows that are mostly zero.
const narrowMaxOut = 4

// narrowPixels is the number of flat positions of a one-channel tile (24
// vectors of 16 lanes), the largest tile of any kernel.
const narrowPixels = 384

// pixels returns the flat output positions in one tile of the kernel.
func (k convImpl) pixels() int {
	switch k {
	case implAVX2:
		return 24
	case implAVX512Narrow:
		return narrowPixels
	}
	return tilePixels
}

// lanes returns the width of one vector of the kernel.
func (k convImpl) lanes() int {
	switch k {
	case implAVX512, implAVX512Narrow:
		return 16
	case implAVX2:
		return 8
	}
	return 1
}

// String returns the kernel's name as benchmarks show it.
func (k convImpl) String() string {
	switch k {
	case implAVX512:
		return "avx512"
	case implAVX512Narrow:
		return "avx512-narrow"
	case implAVX2:
		return "avx2"
	}
	return "go"
}

// chooseImpl picks the fastest enabled kernel that can store g's tiles.
// The SIMD kernels store each vector into at most two output rows, which
// needs rows at least one vector wide.
func chooseImpl(g *convGeom, outC int) convImpl {
	switch {
	case UseAVX512 && g.wq >= 16 && outC <= narrowMaxOut:
		return implAVX512Narrow
	case UseAVX512 && g.wq >= 16:
		return implAVX512
	case UseAVX2 && g.wq >= 8:
		return implAVX2
	}
	return implGo
}

// runUnit computes unit u of j: one strip of tiles and one group of output
// channel blocks.
func (c *Conv) runUnit(j *job, u int) {
	groups := (c.blocks + j.group - 1) / j.group
	strip, group := u/groups, u%groups
	b0 := group * j.group
	b1 := min(b0+j.group, c.blocks)
	first, last := strip*j.strip, min((strip+1)*j.strip, j.tiles)
	if j.impl == implAVX512 && c.p.InC*j.geom.ntaps <= blockMajorMaxK {
		// Few multiply-adds per output: sweeping the strip once per block
		// writes 8 output planes at a time instead of all of them, which
		// alias in cache when their size is a power of two. The input that
		// each sweep reads again is small for such a short K.
		for b := b0; b < b1; b++ {
			for tile := first; tile < last; tile++ {
				c.tileSIMD(j, tile*j.impl.pixels(), b, b+1)
			}
		}
		return
	}
	for tile := first; tile < last; tile++ {
		q0 := tile * j.impl.pixels()
		switch j.impl {
		case implGo:
			c.tileGo(&j.geom, j.dst, j.src, q0, b0, b1)
		case implAVX512Narrow:
			c.tileNarrow(j, q0)
		default:
			c.tileSIMD(j, q0, b0, b1)
		}
	}
}

// fillSegments computes where the vectors of the tile at flat position
// q0 go. Vector v's lanes in flat row r0 are stored from element off[2v]
// of an output plane under write mask mask[2v], and those that spill into
// row r0+1 from element off[2v+1] under mask[2v+1]. Both offsets are of
// lane 0, so a segment's first lanes may point before the plane and are
// masked off. The tile has len(off)/2 vectors of the given number of
// lanes, and g.wq ≥ lanes, so that a vector spans at most two rows.
func (g *convGeom) fillSegments(q0, lanes int, off []int64, mask []uint64) {
	for v := range len(off) / 2 {
		start := q0 + v*lanes
		r0, c0 := start/g.wq, start%g.wq
		inRow := min(lanes, g.wq-c0) // lanes in row r0
		mask[2*v], mask[2*v+1] = 0, 0
		if r0 < g.oh {
			if n := min(inRow, g.ow-c0); n > 0 {
				mask[2*v] = 1<<n - 1
			}
		}
		if r0+1 < g.oh && inRow < lanes {
			if end := min(lanes, g.wq-c0+g.ow); end > inRow {
				mask[2*v+1] = (1<<end - 1) &^ (1<<inRow - 1)
			}
		}
		off[2*v] = int64(r0*g.ow + c0)
		off[2*v+1] = int64((r0+1)*g.ow + c0 - g.wq)
	}
}

// tileGo is the portable micro-kernel: output channel blocks [b0, b1) at
// the tilePixels flat positions from q0, written to the output image dst.
// TODO: it runs at about 1.5 GMAC/s per core (amd64), so a CPU without
// AVX2, arm64 included, takes minutes for ISNet: there is no NEON kernel.
func (c *Conv) tileGo(g *convGeom, dst, padded []float32, q0, b0, b1 int) {
	p := &c.p
	taps := g.taps[:g.ntaps]
	k := p.InC * g.ntaps
	planeOut := g.oh * g.ow
	var acc [blockRows][tilePixels]float32
	for b := b0; b < b1; b++ {
		for m := range acc {
			bias := c.bias[b*blockRows+m]
			for i := range acc[m] {
				acc[m][i] = bias
			}
		}
		weights := c.packed[b*k*blockRows : (b+1)*k*blockRows]
		for ci := range p.InC {
			base := ci*g.chanStride + q0
			for t, off := range taps {
				o := base + int(off)
				x := (*[tilePixels]float32)(padded[o : o+tilePixels])
				w := (*[blockRows]float32)(weights[(ci*len(taps)+t)*blockRows:])
				for m := range acc {
					wm := w[m]
					a := &acc[m]
					for i := range a {
						a[i] += wm * x[i]
					}
				}
			}
		}

		rows := min(blockRows, p.OutC-b*blockRows)
		for m := range rows {
			out := dst[(b*blockRows+m)*planeOut : (b*blockRows+m+1)*planeOut]
			for i, v := range acc[m] {
				q := q0 + i
				if q >= g.flat {
					break
				}
				y, x := q/g.wq, q%g.wq
				if x >= g.ow {
					continue
				}
				if p.ReLU && v < 0 {
					v = 0
				}
				out[y*g.ow+x] = v
			}
		}
	}
}
