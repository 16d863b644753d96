package cpu

import "math"

// The reference kernels below are the plain textbook loops, kept as the
// oracle that tests compare every fast path with. They are slow, run on the
// calling goroutine and check nothing beyond what indexing checks.

// ConvReference computes the convolution of src (n×InC×h×w) with weight
// (OIHW) and bias into dst (n×OutC×oh×ow) by the direct seven-loop
// definition, accumulating in float64.
func ConvReference(dst, src, weight, bias []float32, p ConvParams, n, h, w int) {
	oh, ow := p.OutSize(h, w)
	for b := range n {
		for o := range p.OutC {
			for y := range oh {
				for x := range ow {
					sum := float64(bias[o])
					for i := range p.InC {
						for kh := range p.KH {
							iy := y*p.StrideH + kh*p.DilationH - p.PadTop
							if iy < 0 || iy >= h {
								continue
							}
							for kw := range p.KW {
								ix := x*p.StrideW + kw*p.DilationW - p.PadLeft
								if ix < 0 || ix >= w {
									continue
								}
								wv := weight[((o*p.InC+i)*p.KH+kh)*p.KW+kw]
								sum += float64(wv) * float64(src[((b*p.InC+i)*h+iy)*w+ix])
							}
						}
					}
					if p.ReLU && sum < 0 {
						sum = 0
					}
					dst[((b*p.OutC+o)*oh+y)*ow+x] = float32(sum)
				}
			}
		}
	}
}

// MaxPoolReference is MaxPool on the calling goroutine by the definition.
func MaxPoolReference(dst, src []float32, p PoolParams, n, c, h, w int) {
	oh, ow := p.OutSize(h, w)
	for plane := range n * c {
		for y := range oh {
			for x := range ow {
				m := math.Inf(-1)
				for ky := range p.KH {
					for kx := range p.KW {
						iy, ix := y*p.StrideH+ky, x*p.StrideW+kx
						if iy < h && ix < w {
							m = math.Max(m, float64(src[(plane*h+iy)*w+ix]))
						}
					}
				}
				dst[(plane*oh+y)*ow+x] = float32(m)
			}
		}
	}
}

// ResizeBilinearReference is ResizeBilinear on the calling goroutine by the
// definition, in float64.
func ResizeBilinearReference(dst, src []float32, n, c, h, w, oh, ow int) {
	coord := func(i, in, out int) (int, int, float64) {
		s := (float64(i)+0.5)*float64(in)/float64(out) - 0.5
		s = math.Min(math.Max(s, 0), float64(in-1))
		i0 := int(s)
		return i0, min(i0+1, in-1), s - float64(i0)
	}
	for plane := range n * c {
		in := src[plane*h*w:]
		for y := range oh {
			y0, y1, fy := coord(y, h, oh)
			for x := range ow {
				x0, x1, fx := coord(x, w, ow)
				top := float64(in[y0*w+x0])*(1-fx) + float64(in[y0*w+x1])*fx
				bottom := float64(in[y1*w+x0])*(1-fx) + float64(in[y1*w+x1])*fx
				dst[(plane*oh+y)*ow+x] = float32(top*(1-fy) + bottom*fy)
			}
		}
	}
}
