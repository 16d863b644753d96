package models

import (
	"math"
)

// runReference executes p on one image with plain loops. It is the oracle
// that checks a plan means what ONNX Runtime computes; it favours clarity
// over speed.
func runReference(p *Plan, input []float32) [][]float32 {
	vals := make([][]float32, len(p.Values))
	vals[p.Input] = input
	for _, s := range p.Steps {
		out := p.Values[s.Output]
		dst := make([]float32, out.Elems())
		in := p.Values[s.Inputs[0]]
		src := vals[s.Inputs[0]]
		switch s.Op {
		case OpConv:
			refConv(s.Conv, src, in, dst, out)
		case OpMaxPool:
			refMaxPool(s.Pool, src, in, dst, out)
		case OpResize:
			refResize(src, in, dst, out)
		case OpConcat:
			dst = dst[:0]
			for _, i := range s.Inputs {
				dst = append(dst, vals[i]...)
			}
		case OpAdd:
			other := vals[s.Inputs[1]]
			for i := range dst {
				dst[i] = src[i] + other[i]
			}
		case OpSigmoid:
			for i, v := range src {
				dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
			}
		case OpRelu:
			for i, v := range src {
				dst[i] = max(v, 0)
			}
		}
		vals[s.Output] = dst
	}
	return vals
}

func refConv(c *ConvAttrs, src []float32, in Value, dst []float32, out Value) {
	for o := 0; o < c.OutC; o++ {
		for y := 0; y < out.H; y++ {
			for x := 0; x < out.W; x++ {
				sum := float64(c.Bias[o])
				for i := 0; i < c.InC; i++ {
					for ky := 0; ky < c.KH; ky++ {
						sy := y*c.StrideH - c.PadTop + ky*c.DilationH
						if sy < 0 || sy >= in.H {
							continue
						}
						for kx := 0; kx < c.KW; kx++ {
							sx := x*c.StrideW - c.PadLeft + kx*c.DilationW
							if sx < 0 || sx >= in.W {
								continue
							}
							w := c.Weight[((o*c.InC+i)*c.KH+ky)*c.KW+kx]
							sum += float64(w) * float64(src[(i*in.H+sy)*in.W+sx])
						}
					}
				}
				if c.ReLU {
					sum = max(sum, 0)
				}
				dst[(o*out.H+y)*out.W+x] = float32(sum)
			}
		}
	}
}

func refMaxPool(a *PoolAttrs, src []float32, in Value, dst []float32, out Value) {
	for ch := 0; ch < out.C; ch++ {
		for y := 0; y < out.H; y++ {
			for x := 0; x < out.W; x++ {
				m := float32(math.Inf(-1))
				for ky := 0; ky < a.KH; ky++ {
					for kx := 0; kx < a.KW; kx++ {
						sy, sx := y*a.StrideH+ky, x*a.StrideW+kx
						if sy < in.H && sx < in.W {
							m = max(m, src[(ch*in.H+sy)*in.W+sx])
						}
					}
				}
				dst[(ch*out.H+y)*out.W+x] = m
			}
		}
	}
}

// refResize is bilinear interpolation with half-pixel centres, source
// coordinates clamped to the input.
func refResize(src []float32, in Value, dst []float32, out Value) {
	coord := func(i, inSize, outSize int) (lo, hi int, frac float64) {
		s := (float64(i)+0.5)*float64(inSize)/float64(outSize) - 0.5
		s = max(0, min(s, float64(inSize-1)))
		lo = int(s)
		hi = min(lo+1, inSize-1)
		return lo, hi, s - float64(lo)
	}
	for ch := 0; ch < out.C; ch++ {
		plane := src[ch*in.H*in.W:]
		for y := 0; y < out.H; y++ {
			y0, y1, fy := coord(y, in.H, out.H)
			for x := 0; x < out.W; x++ {
				x0, x1, fx := coord(x, in.W, out.W)
				top := float64(plane[y0*in.W+x0])*(1-fx) + float64(plane[y0*in.W+x1])*fx
				bot := float64(plane[y1*in.W+x0])*(1-fx) + float64(plane[y1*in.W+x1])*fx
				dst[(ch*out.H+y)*out.W+x] = float32(top*(1-fy) + bot*fy)
			}
		}
	}
}
