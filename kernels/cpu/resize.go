package cpu

import "fmt"

// maxStackWidth is the widest input and output row that ResizeBilinear
// interpolates with coefficients and a temporary row on the stack. Wider
// rows compute each pixel's coordinates anew.
const maxStackWidth = 2048

// ResizeBilinear resizes each h×w plane of src (n×c planes) to oh×ow in
// dst by bilinear interpolation with ONNX's half_pixel coordinates: output
// pixel x samples source position (x + 0.5)·w/ow − 0.5, clamped to
// [0, w−1], and likewise for rows. There is no antialiasing, so shrinking
// skips pixels. Arithmetic is float32, separable (between rows, then
// along the row), so results may differ from ONNX Runtime's four-sample
// formula in the last bits. It allocates nothing and panics when a size is not positive or a slice is
// too short; dst must not overlap src.
func ResizeBilinear(pool *Pool, dst, src []float32, n, c, h, w, oh, ow int) {
	if h <= 0 || w <= 0 || oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("cpu: invalid resize %d×%d to %d×%d", h, w, oh, ow))
	}
	if len(src) < n*c*h*w || len(dst) < n*c*oh*ow {
		panic(fmt.Sprintf("cpu: resize slices too short: src %d, dst %d floats for %d planes",
			len(src), len(dst), n*c))
	}
	j := job{kind: jobResize, dst: dst, src: src, n: n, c: c, h: h, w: w, oh: oh, ow: ow}
	j.chunk, j.units = splitUnits(n*c*oh, max(1, 4096/ow), pool.Workers())
	pool.run(&j)
}

// sourceCoord maps output index i of an axis resized from in to out
// elements to the two source indices and the weight of the second.
func sourceCoord(i, in, out int) (i0, i1 int, frac float32) {
	scale := float32(out) / float32(in)
	s := (float32(i)+0.5)/scale - 0.5
	if s < 0 {
		s = 0
	}
	if s > float32(in-1) {
		s = float32(in - 1)
	}
	i0 = int(s)
	i1 = min(i0+1, in-1)
	return i0, i1, s - float32(i0)
}

// resizePlanes resizes output rows [u·chunk, (u+1)·chunk) of all planes.
// Rows up to maxStackWidth wide are interpolated in two passes, first
// between the two source rows into a temporary row, then along it.
func resizePlanes(j *job, u int) {
	first := u * j.chunk
	last := min(first+j.chunk, j.n*j.c*j.oh)
	if j.w > maxStackWidth || j.ow > maxStackWidth {
		resizeRowsDirect(j, first, last)
		return
	}

	var x0s, x1s [maxStackWidth]int32
	var fxs [maxStackWidth]float32
	double := j.ow == 2*j.w
	if !double {
		for x := range j.ow {
			x0, x1, fx := sourceCoord(x, j.w, j.ow)
			x0s[x], x1s[x], fxs[x] = int32(x0), int32(x1), fx
		}
	}

	var tmp [maxStackWidth]float32
	for r := first; r < last; r++ {
		plane, oy := r/j.oh, r%j.oh
		in := j.src[plane*j.h*j.w : (plane+1)*j.h*j.w]
		out := j.dst[r*j.ow : (r+1)*j.ow]
		y0, y1, fy := sourceCoord(oy, j.h, j.oh)
		t := in[y0*j.w : (y0+1)*j.w]
		if fy != 0 {
			blendRows(tmp[:j.w], t, in[y1*j.w:(y1+1)*j.w], 1-fy, fy)
			t = tmp[:j.w]
		}
		if double {
			upsampleRow2x(out, t)
			continue
		}
		for x := range out {
			fx := fxs[x]
			out[x] = t[x0s[x]]*(1-fx) + t[x1s[x]]*fx
		}
	}
}

// blendRows writes t[i] = a[i]·wa + b[i]·wb.
func blendRows(t, a, b []float32, wa, wb float32) {
	a, b = a[:len(t)], b[:len(t)]
	for i := blendRowsSIMD(t, a, b, wa, wb); i < len(t); i++ {
		t[i] = a[i]*wa + b[i]*wb
	}
}

// upsampleRow2x writes to out (2·len(t) elements) the half_pixel 2×
// interpolation of t: output 2x samples x − 0.25 and 2x+1 samples x + 0.25,
// clamped to the row.
func upsampleRow2x(out, t []float32) {
	w := len(t)
	out = out[:2*w]
	out[0] = t[0]
	out[2*w-1] = t[w-1]
	if w == 1 {
		return
	}
	out[1] = 0.75*t[0] + 0.25*t[1]
	for x := upsampleRow2xSIMD(out, t); x < w; x++ {
		out[2*x] = 0.25*t[x-1] + 0.75*t[x]
		if x < w-1 {
			out[2*x+1] = 0.75*t[x] + 0.25*t[x+1]
		}
	}
}

// resizeRowsDirect resizes output rows [first, last) with the
// four-sample formula, computing each pixel's coordinates anew.
func resizeRowsDirect(j *job, first, last int) {
	for r := first; r < last; r++ {
		plane, oy := r/j.oh, r%j.oh
		in := j.src[plane*j.h*j.w : (plane+1)*j.h*j.w]
		out := j.dst[r*j.ow : (r+1)*j.ow]
		y0, y1, fy := sourceCoord(oy, j.h, j.oh)
		row0 := in[y0*j.w : (y0+1)*j.w]
		row1 := in[y1*j.w : (y1+1)*j.w]
		gy := 1 - fy
		for x := range out {
			x0, x1, fx := sourceCoord(x, j.w, j.ow)
			gx := 1 - fx
			out[x] = row0[x0]*gx*gy + row0[x1]*fx*gy + row1[x0]*gx*fy + row1[x1]*fx*fy
		}
	}
}
