package imaging

import (
	"math"
)

// Fixed-point and phase constants of libvips's resamplers (VIPS_INTERPOLATE_SHIFT,
// VIPS_TRANSFORM_SHIFT in libvips 8.17).
const (
	weightShift = 12
	weightOne   = 1 << weightShift
	weightHalf  = weightOne / 2
	phaseShift  = 6 // kernel phases are quantized to 1/64 pixel
	phases      = 1 << phaseShift
)

// axisTaps holds, for each output coordinate of one axis, the first source
// index and n fixed-point weights. Taps that fall outside the source are
// folded onto the edge sample, which is libvips's copy extension: adding
// integer weights of one sample is exact, so the sums do not change.
type axisTaps struct {
	n      int
	srcLen int
	start  []int32
	weight []int16 // n per output
}

// newAxisTaps folds taps for outLen outputs. raw returns, for output o, the
// source index of its first tap and the fixed-point weights of n taps.
func newAxisTaps(srcLen, outLen, n int, raw func(o int, w []int32) (first int)) axisTaps {
	ne := min(n, srcLen)
	t := axisTaps{n: ne, srcLen: srcLen, start: make([]int32, outLen), weight: make([]int16, outLen*ne)}
	w := make([]int32, n)
	for o := range outLen {
		first := raw(o, w)
		start := min(max(first, 0), srcLen-ne)
		t.start[o] = int32(start)
		folded := t.weight[o*ne : (o+1)*ne]
		for i, v := range w {
			j := min(max(first+i, 0), srcLen-1)
			folded[j-start] += int16(v)
		}
	}
	return t
}

// toFixed converts a weight to 12-bit fixed point, truncating toward zero
// as libvips's (int) casts do.
func toFixed(f float64) int32 { return int32(f * weightOne) }

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

func lanczos3(x float64) float64 {
	if x >= -3 && x <= 3 {
		return sinc(x) * sinc(x/3)
	}
	return 0
}

// reduceGap is libvips's default reducing gap: shrinks by more than twice
// this start with an integer box filter.
const reduceGap = 2

// boxFactor returns the integer box shrink libvips applies before the
// Lanczos reduce of srcLen to outLen samples, or 1.
func boxFactor(srcLen, outLen int) int {
	return max(1, int(math.Floor(float64(srcLen)/float64(outLen)/reduceGap)))
}

// reduceStrip is the height of the output strips libvips's vertical reduce
// computes: within a strip the source position is accumulated row by row
// from the strip's first row, which decides how ties at phase boundaries
// round. The horizontal reduce accumulates along the whole row.
const reduceStrip = 16

// reduceTaps builds the Lanczos-3 taps that shrink origLen samples to
// outLen, as libvips's vips_reduceh and vips_reducev do after a box shrink
// by box (1 for none): the taps index the box-shrunk axis. scale is the
// shrink factor libvips received; strip is the number of outputs over which
// the position is accumulated (0: the whole axis).
func reduceTaps(origLen, outLen int, scale float64, box, strip int) axisTaps {
	srcLen := origLen
	s := scale
	extra := float64(outLen)*s - float64(origLen)
	if box > 1 {
		srcLen = (origLen + box - 1) / box
		s /= float64(box)
		extra /= float64(box)
	}
	// libvips moves the origin inside the input by half the pixels that
	// rounding the output size invented or dropped.
	offset := (1+extra)/2 - 1
	k := int(math.RoundToEven(3 * s))
	n := 2*k + 1

	// One mask per phase, 0 to 64 inclusive, as libvips precomputes them.
	masks := make([][]int32, phases+1)
	f := make([]float64, n)
	for p := range masks {
		x := float64(float32(p) / phases)
		half := x + float64(n)/2 - 1
		sum := 0.0
		for i := range f {
			f[i] = lanczos3((float64(i) - half) / s)
			sum += f[i]
		}
		masks[p] = make([]int32, n)
		for i := range f {
			masks[p][i] = toFixed(f[i] / sum)
		}
	}

	var pos float64
	return newAxisTaps(srcLen, outLen, n, func(o int, w []int32) int {
		if strip == 0 && o > 0 || strip > 0 && o%strip != 0 {
			pos += s
		} else {
			pos = (float64(o)+0.5)*s - 0.5 - offset
		}
		ix, phase := splitPosition(pos)
		copy(w, masks[phase])
		// The mask's centre tap sits half a pixel left of the position.
		return ix - k
	})
}

// splitPosition splits a positive coordinate into its integer part and
// the index of the nearest of 65 phases 0/64 .. 64/64, the way libvips's
// reducers and interpolators index their mask tables: the fraction is cut
// to 1/128 first, so ties round up.
func splitPosition(x float64) (ix, phase int) {
	ix = int(x)
	six := int(x*2*phases) & (2*phases - 1)
	return ix, (six + 1) >> 1
}

// catmullRom returns the four Catmull-Rom weights for a sample at fraction
// x between the second and third tap, computed the way libvips does.
func catmullRom(x float64) [4]float64 {
	cr1 := 1 - x
	cr2 := -0.5 * x
	cr3 := cr1 * cr2
	cone := cr1 * cr3
	cfou := x * cr3
	cr4 := cfou - cone
	ctwo := cr1 - cone + cr4
	cthr := x - cfou - cr4
	return [4]float64{cone, ctwo, cthr, cfou}
}

// bicubicMasks are the fixed-point Catmull-Rom weights per phase, 0 to 64.
var bicubicMasks = func() (m [phases + 1][4]int32) {
	for p := range m {
		c := catmullRom(float64(float32(p) / phases))
		for i := range c {
			m[p][i] = toFixed(c[i])
		}
	}
	return m
}()

// enlargeTaps builds the Catmull-Rom taps of libvips's affine transform
// along one axis, for inverse scale inv (input pixels per output pixel)
// and the half-pixel input displacement vips_resize requests. accumulate
// selects the horizontal form, where the position is advanced by inv
// along the row; vertically it is inv·o.
//
// TODO: a position exactly halfway between two phases rounds by its last
// bit. For some scales libvips rounds a few such rows the other way, for a
// reason not found: one row of 1024 when enlarging 300 rows, by up to 6
// levels.
func enlargeTaps(srcLen, outLen int, inv float64, accumulate bool) axisTaps {
	const displacement = 0.5
	const windowOffset = 1 // bicubic reads one pixel left of its position

	var pos float64
	return newAxisTaps(srcLen, outLen, 4, func(o int, w []int32) int {
		if !accumulate || o == 0 {
			pos = inv*float64(o) - displacement + windowOffset
		} else {
			pos += inv
		}
		ix, phase := splitPosition(pos)
		for i, v := range bicubicMasks[phase] {
			w[i] = v
		}
		return ix - windowOffset - 1
	})
}
