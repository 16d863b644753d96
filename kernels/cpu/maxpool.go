package cpu

import (
	"fmt"
	"math"
)

// PoolParams describes a max pooling window with no padding.
type PoolParams struct {
	KH, KW           int // window height and width, positive
	StrideH, StrideW int // positive
	// CeilMode rounds the output size up, so that a partial window covers
	// the last rows and columns; its max is over the in-bounds elements.
	CeilMode bool
}

// OutSize returns the output height and width for an h×w input. With
// CeilMode a window that would start past the input is dropped, as in
// ONNX Runtime and PyTorch.
func (p PoolParams) OutSize(h, w int) (oh, ow int) {
	return poolLen(h, p.KH, p.StrideH, p.CeilMode), poolLen(w, p.KW, p.StrideW, p.CeilMode)
}

// poolLen is the output length along one axis.
func poolLen(in, k, stride int, ceil bool) int {
	span := in - k
	if span < 0 {
		if !ceil {
			return 0
		}
		span = 0
	}
	out := span/stride + 1
	if ceil && span%stride != 0 {
		out++
	}
	if ceil && (out-1)*stride >= in {
		out--
	}
	return out
}

// MaxPool writes to dst (n×c×oh×ow, oh×ow from p.OutSize) the max of each
// window of src (n×c×h×w). It allocates nothing and panics when a slice
// is too short or p has a non-positive field; dst must not overlap src.
// Whether a NaN in a window reaches the output depends on its position.
func MaxPool(pool *Pool, dst, src []float32, p PoolParams, n, c, h, w int) {
	if p.KH <= 0 || p.KW <= 0 || p.StrideH <= 0 || p.StrideW <= 0 {
		panic(fmt.Sprintf("cpu: invalid max pool window %+v", p))
	}
	oh, ow := p.OutSize(h, w)
	if oh <= 0 || ow <= 0 {
		return
	}
	if len(src) < n*c*h*w || len(dst) < n*c*oh*ow {
		panic(fmt.Sprintf("cpu: max pool slices too short: src %d, dst %d floats for %d×%d×%d×%d",
			len(src), len(dst), n, c, h, w))
	}
	j := job{kind: jobMaxPool, dst: dst, src: src, n: n, c: c, h: h, w: w, oh: oh, ow: ow, pool: p}
	j.chunk, j.units = splitUnits(n*c*oh, max(1, 4096/ow), pool.Workers())
	pool.run(&j)
}

// maxPoolPlanes pools output rows [u·chunk, (u+1)·chunk) of all planes.
func maxPoolPlanes(j *job, u int) {
	p := &j.pool
	first := u * j.chunk
	last := min(first+j.chunk, j.n*j.c*j.oh)
	for r := first; r < last; r++ {
		plane, oy := r/j.oh, r%j.oh
		in := j.src[plane*j.h*j.w : (plane+1)*j.h*j.w]
		out := j.dst[r*j.ow : (r+1)*j.ow]
		y0 := oy * p.StrideH
		y1 := min(y0+p.KH, j.h)
		if p.KH == 2 && p.KW == 2 && p.StrideW == 2 {
			maxPoolRow2x2(out, in[y0*j.w:(y0+1)*j.w], in[(y1-1)*j.w:y1*j.w])
			continue
		}
		for ox := range out {
			x0 := ox * p.StrideW
			x1 := min(x0+p.KW, j.w)
			m := float32(math.Inf(-1))
			for y := y0; y < y1; y++ {
				for _, v := range in[y*j.w+x0 : y*j.w+x1] {
					if v > m {
						m = v
					}
				}
			}
			out[ox] = m
		}
	}
}

// maxPoolRow2x2 writes the 2×2, stride 2 maxima of rows a and b to out.
// a and b are the same row when the window's second row is past the
// input, and an odd last column pools alone.
func maxPoolRow2x2(out, a, b []float32) {
	full := min(len(out), len(a)/2)
	for i := maxPoolRow2x2SIMD(out[:full], a, b); i < full; i++ {
		out[i] = max32(max32(a[2*i], a[2*i+1]), max32(b[2*i], b[2*i+1]))
	}
	if full < len(out) {
		out[full] = max32(a[2*full], b[2*full])
	}
}

// max32 returns the larger of x and y, or y when either is NaN.
func max32(x, y float32) float32 {
	if x > y {
		return x
	}
	return y
}
