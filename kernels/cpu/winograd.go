package cpu

import "runtime"

// Winograd F(2×2, 3×3) computes a 3×3, stride 1 convolution in 2×2
// output tiles with 16 multiplies per tile, input channel and output
// channel instead of 36:
//
//	Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
//
// for a 4×4 input patch d and 3×3 kernel g. The weights are transformed
// once by NewConv. Run transforms the input patches of 48 tiles at a time
// into a per-worker buffer U[16][InC][48]; with AVX-512 it reads the
// unpadded input with masked loads that supply the zero padding, with
// AVX2 the direct path's padded copy. It multiplies each of the 16
// positions by its InC×OutC weight matrix into M[16][OutC][48]
// (winogradGemmAVX512, or the direct micro-kernel with one tap and no
// bias for AVX2) and transforms M back into the output, adding bias and
// ReLU. With AVX2 a group is 24 tiles. A dilation d spaces the tile's
// outputs and the patch's pixels d apart, which changes only how the
// transforms gather and scatter. The transforms only add and subtract,
// and the weight transform halves, so rounding stays within a few float32
// ulps of the direct sum.

const (
	// winogradMinChannels is the smallest InC and OutC worth the input
	// and output transforms. Counting operations, they cost an estimated
	// 2/OutC and 1.5/InC of the multiplies they save; at 16 channels the
	// path measured 1.2× to 1.5× faster than the direct one.
	winogradMinChannels = 16
	// winogradMaxWeights caps InC·OutC at ISNet's largest layer. The 16
	// transformed weight matrices (64·InC·OutC bytes, 32 MiB there) are
	// streamed once per 48 tiles, which measured 1.7× faster than the
	// direct path even at that size.
	winogradMaxWeights = 1024 * 512
	// winogradMinWidth is the smallest output width for the Winograd
	// path: an AVX-512 vector covers 32 output columns of a tile row, so
	// narrower images leave lanes empty.
	winogradMinWidth = 32
	// winogradTiles is the number of tiles in one group: the 48
	// positions of the micro-kernel.
	winogradTiles = tilePixels
)

// winogradEligible reports whether NewConv prepares the Winograd path for
// p. It also needs AVX-512 at Run time, or AVX2 for dilation 1.
func winogradEligible(p ConvParams) bool {
	d := p.DilationH
	return p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 &&
		p.DilationW == d && (d == 1 || d == 2 || d == 4 || d == 8) &&
		p.InC >= winogradMinChannels && p.OutC >= winogradMinChannels &&
		p.InC*p.OutC <= winogradMaxWeights
}

// packWinograd sets c.wino to the transformed weights G g Gᵀ, packed as
// [16][blocks][InC][blockRows] so that each of the 16 positions is a
// weight matrix in the direct kernel's one-tap layout.
func (c *Conv) packWinograd(weight []float32) {
	p := &c.p
	c.wino = make([]float32, 16*c.blocks*p.InC*blockRows)
	c.zeroBias = make([]float32, c.blocks*blockRows)
	for o := range p.OutC {
		block, row := o/blockRows, o%blockRows
		for i := range p.InC {
			g := weight[(o*p.InC+i)*9 : (o*p.InC+i+1)*9]
			// G g: 4×3, with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
			var t [4][3]float64
			for k := range 3 {
				g0, g1, g2 := float64(g[k]), float64(g[3+k]), float64(g[6+k])
				t[0][k] = g0
				t[1][k] = (g0 + g1 + g2) / 2
				t[2][k] = (g0 - g1 + g2) / 2
				t[3][k] = g2
			}
			for r := range 4 {
				v := [4]float64{
					t[r][0],
					(t[r][0] + t[r][1] + t[r][2]) / 2,
					(t[r][0] - t[r][1] + t[r][2]) / 2,
					t[r][2],
				}
				for col, x := range v {
					pos := r*4 + col
					c.wino[((pos*c.blocks+block)*p.InC+i)*blockRows+row] = float32(x)
				}
			}
		}
	}
}

// winogradGeom is the tiling of one Winograd Run. With dilation d, a tile
// covers outputs y, y+d and x, x+d, and reads a 4×4 patch of input pixels
// d apart. The output rows ≡ a (mod d) form d row phases, each tiled by
// tile rows of 2 of its rows; a vector of 16 tiles covers 32 consecutive
// output columns of a tile row (for d = 1, 16 tiles side by side).
type winogradGeom struct {
	d          int // dilation
	tileRows   int // tile rows of all row phases together
	rowVectors int // vectors per tile row: ceil(ow / (2·lanes))
	vectors    int // tileRows·rowVectors
	groups     int // ceil(vectors/3)
	slot       int // floats of one worker's U and M buffers
}

// winogradGeometry returns the tiling for g with vectors of the given
// number of lanes (tiles): 16 for AVX-512, 8 for AVX2. A group is 3
// vectors. The buffer size is the same for both.
func (c *Conv) winogradGeometry(g *convGeom, lanes int) winogradGeom {
	wg := winogradGeom{d: c.p.DilationH}
	for a := range min(wg.d, g.oh) {
		wg.tileRows += (wg.phaseRows(g, a) + 1) / 2
	}
	wg.rowVectors = (g.ow + 2*lanes - 1) / (2 * lanes)
	wg.vectors = wg.tileRows * wg.rowVectors
	wg.groups = (wg.vectors + 2) / 3
	wg.slot = 16*winogradTiles*(c.p.InC+c.blocks*blockRows) + winogradTemp
	return wg
}

// phaseRows returns the number of output rows ≡ a (mod d).
func (wg *winogradGeom) phaseRows(g *convGeom, a int) int {
	return (g.oh - a + wg.d - 1) / wg.d
}

// tileRow returns the first output row of tile row r: a + 2d·ty for
// tile row ty of row phase a.
func (wg *winogradGeom) tileRow(g *convGeom, r int) int {
	for a := range wg.d {
		n := (wg.phaseRows(g, a) + 1) / 2
		if r < n {
			return a + 2*wg.d*r
		}
		r -= n
	}
	panic("cpu: Winograd tile row out of range")
}

// winogradTemp is the number of floats of a worker's buffer that the AVX2
// input transform uses between its two passes.
const winogradTemp = 16 * 8

// winogradReachAVX2 returns the number of padded-input floats that the
// AVX2 input transform may read, garbage lanes included: 18 floats of 4
// rows from the last vector of the last tile row of the last channel.
func (c *Conv) winogradReachAVX2(g *convGeom) int {
	wg := c.winogradGeometry(g, 8)
	last := (wg.tileRow(g, wg.tileRows-1)+3*wg.d)*g.wq + 16*(wg.rowVectors-1)
	return (c.p.InC-1)*g.chanStride + last + 18
}

// winogradSlots returns the number of per-worker buffers ScratchFloats
// provides: one per thread that can run Go code at once. A larger pool
// runs the Winograd path on that many of its workers, which are all that
// can run at once anyway. NumCPU is not used: in a container it may count
// cores outside the CPU quota that GOMAXPROCS follows.
func winogradSlots() int {
	return runtime.GOMAXPROCS(0)
}

// winogradPlan returns the Winograd variant that Run takes for g with the
// current UseAVX512 and UseAVX2, and base, the scratch floats before the
// per-worker buffers: the padded input that the AVX2 input transform
// reads. ok is false when the path does not apply to g.
func (c *Conv) winogradPlan(g *convGeom) (impl convImpl, base int, ok bool) {
	if c.wino == nil || g.ow < winogradMinWidth {
		return implGo, 0, false
	}
	switch {
	case UseAVX512:
		return implAVX512, 0, true
	case UseAVX2 && c.p.DilationH == 1:
		return implAVX2, g.padded, true
	}
	return implGo, 0, false
}

// winogradScratch returns the scratch floats for the Winograd variant impl
// with the given base: one buffer per worker, up to winogradSlots.
func (c *Conv) winogradScratch(g *convGeom, impl convImpl, base int) int {
	wg := c.winogradGeometry(g, impl.lanes())
	return base + min(winogradSlots(), wg.groups)*wg.slot
}

// runWinogradUnit computes unit u of j, a strip of tile groups, on the
// given worker with that worker's U and M buffers.
func (c *Conv) runWinogradUnit(j *job, u, worker int) {
	wg := c.winogradGeometry(&j.geom, j.impl.lanes())
	work := j.work[worker*wg.slot : (worker+1)*wg.slot]
	for group := u * j.strip; group < min((u+1)*j.strip, wg.groups); group++ {
		if j.impl == implAVX2 {
			c.winogradGroupAVX2(j, &wg, work, group)
		} else {
			c.winogradGroup(j, &wg, work, group)
		}
	}
}
