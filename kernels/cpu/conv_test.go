package cpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// impls lists the convolution micro-kernels this CPU can run, each with a
// function that selects it.
func impls(t testing.TB) []struct {
	name string
	use  func()
} {
	avx512, avx2 := UseAVX512, UseAVX2
	t.Cleanup(func() { UseAVX512, UseAVX2 = avx512, avx2 })
	list := []struct {
		name string
		use  func()
	}{{"go", func() { UseAVX512, UseAVX2 = false, false }}}
	if avx2 {
		list = append(list, struct {
			name string
			use  func()
		}{"avx2", func() { UseAVX512, UseAVX2 = false, true }})
	}
	if avx512 {
		list = append(list, struct {
			name string
			use  func()
		}{"avx512", func() { UseAVX512, UseAVX2 = true, true }})
	}
	return list
}

// randomSlice returns n floats uniform in [−1, 1).
func randomSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// absSlice returns |s| elementwise.
func absSlice(s []float32) []float32 {
	a := make([]float32, len(s))
	for i, v := range s {
		a[i] = float32(math.Abs(float64(v)))
	}
	return a
}

// convCase is one convolution shape of the tests.
type convCase struct {
	name string
	p    ConvParams
	n    int
	h, w int
}

// conv3x3 returns the parameters of an ISNet-style 3×3 convolution.
func conv3x3(in, out, dilation int, relu bool) ConvParams {
	return ConvParams{
		InC: in, OutC: out, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadTop: dilation, PadLeft: dilation, PadBottom: dilation, PadRight: dilation,
		DilationH: dilation, DilationW: dilation, ReLU: relu,
	}
}

// fixedConvCases are shapes chosen for the paths they reach.
func fixedConvCases() []convCase {
	stride2 := conv3x3(3, 64, 1, true)
	stride2.StrideH, stride2.StrideW = 2, 2
	asym := ConvParams{InC: 5, OutC: 9, KH: 2, KW: 3, StrideH: 1, StrideW: 1,
		PadTop: 0, PadLeft: 2, PadBottom: 1, PadRight: 0, DilationH: 1, DilationW: 1}
	wide := ConvParams{InC: 4, OutC: 8, KH: 1, KW: 5, StrideH: 1, StrideW: 1,
		PadLeft: 4, PadRight: 4, DilationH: 1, DilationW: 2}
	strided := ConvParams{InC: 6, OutC: 11, KH: 3, KW: 2, StrideH: 3, StrideW: 2,
		PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1, DilationH: 2, DilationW: 1, ReLU: true}
	noPad := ConvParams{InC: 8, OutC: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1}
	pointwise := ConvParams{InC: 24, OutC: 10, KH: 1, KW: 1, StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1}
	winogradAsym := conv3x3(16, 16, 1, true)
	winogradAsym.PadTop, winogradAsym.PadLeft, winogradAsym.PadBottom, winogradAsym.PadRight =
		0, 2, 1, 0
	winogradNoPad := conv3x3(20, 16, 1, false)
	winogradNoPad.PadTop, winogradNoPad.PadLeft, winogradNoPad.PadBottom, winogradNoPad.PadRight =
		0, 0, 0, 0
	return []convCase{
		{"isnet16/dil1", conv3x3(16, 16, 1, true), 1, 16, 16},
		{"isnet16/dil2", conv3x3(16, 32, 2, true), 1, 16, 16},
		{"isnet16/dil4", conv3x3(32, 16, 4, true), 1, 16, 16},
		{"isnet16/dil8", conv3x3(16, 16, 8, true), 1, 16, 16},
		{"dil8/small", conv3x3(8, 8, 8, false), 1, 5, 7},
		{"one-pixel", conv3x3(7, 8, 1, true), 1, 1, 1},
		{"one-pixel/dil4", conv3x3(3, 5, 4, false), 2, 1, 1},
		{"odd/7x13", conv3x3(5, 13, 1, true), 1, 7, 13},
		{"odd/17x5", conv3x3(9, 3, 2, false), 1, 17, 5},
		{"width19", conv3x3(12, 24, 1, true), 1, 11, 19},
		{"width33", conv3x3(16, 17, 1, false), 1, 9, 33},
		{"cout1", conv3x3(64, 1, 1, false), 1, 20, 20},
		{"cout5", conv3x3(10, 5, 2, true), 1, 24, 18},
		{"cout1/wide", conv3x3(20, 1, 1, false), 2, 30, 77},
		{"cout3/dil8", conv3x3(9, 3, 8, true), 1, 33, 40},
		{"cout4/relu", conv3x3(16, 4, 2, true), 1, 18, 16},
		{"batch2", conv3x3(16, 24, 1, true), 2, 12, 40},
		{"k1152", conv3x3(128, 16, 1, true), 1, 8, 48},
		{"rows70", conv3x3(8, 16, 1, true), 1, 64, 70},
		{"winograd/odd", conv3x3(16, 16, 1, true), 1, 17, 35},
		{"winograd/batch2", conv3x3(24, 19, 1, false), 2, 20, 64},
		{"winograd/wide", conv3x3(16, 32, 1, true), 1, 5, 133},
		{"winograd/64x64", conv3x3(64, 64, 1, true), 1, 64, 64},
		{"winograd/tall", conv3x3(17, 16, 1, false), 1, 61, 32},
		{"winograd/asymmetric", winogradAsym, 2, 19, 40},
		{"winograd/nopad", winogradNoPad, 1, 20, 38},
		{"winograd/dil2", conv3x3(16, 16, 2, true), 1, 20, 40},
		{"winograd/dil2/odd", conv3x3(24, 17, 2, false), 2, 17, 45},
		{"winograd/dil4", conv3x3(16, 24, 4, true), 1, 33, 35},
		{"winograd/dil8", conv3x3(17, 16, 8, false), 1, 32, 32},
		{"winograd/dil8/wide", conv3x3(16, 16, 8, true), 1, 19, 70},
		{"stride2/1024like", stride2, 1, 34, 34},
		{"stride2/odd", stride2, 2, 15, 9},
		{"asymmetric", asym, 1, 9, 21},
		{"wide1x5", wide, 1, 6, 30},
		{"strided3x2", strided, 2, 19, 23},
		{"nopad", noPad, 1, 20, 18},
		{"pointwise", pointwise, 1, 13, 17},
	}
}

// randomConvCases returns count random shapes from a fixed seed.
func randomConvCases(count int) []convCase {
	r := rand.New(rand.NewPCG(1, 2))
	var cases []convCase
	for len(cases) < count {
		d := []int{1, 2, 4, 8}[r.IntN(4)]
		p := conv3x3(1+r.IntN(40), 1+r.IntN(40), d, r.IntN(2) == 0)
		if r.IntN(4) == 0 {
			p.KH, p.KW = 1+r.IntN(4), 1+r.IntN(4)
			p.PadTop, p.PadLeft, p.PadBottom, p.PadRight = r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)
			p.StrideH, p.StrideW = 1+r.IntN(3), 1+r.IntN(3)
			p.DilationH, p.DilationW = 1+r.IntN(3), 1+r.IntN(3)
		}
		h, w := 1+r.IntN(40), 1+r.IntN(60)
		if oh, ow := p.OutSize(h, w); oh <= 0 || ow <= 0 {
			continue
		}
		name := fmt.Sprintf("random%d/%dx%d-%dto%d", len(cases), h, w, p.InC, p.OutC)
		cases = append(cases, convCase{name, p, 1 + r.IntN(2), h, w})
	}
	return cases
}

// checkConv runs c through the selected kernel and compares it with the
// reference. The bound is 16 float32 epsilons of the sum of |terms|: fp32
// accumulation in any order stays far inside it, while one wrong or
// missing term of a K-term sum moves the result by about sum/K.
func checkConv(t *testing.T, pool *Pool, tc convCase, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	p := tc.p
	weight := randomSlice(r, p.OutC*p.InC*p.KH*p.KW)
	bias := randomSlice(r, p.OutC)
	src := randomSlice(r, tc.n*p.InC*tc.h*tc.w)
	oh, ow := p.OutSize(tc.h, tc.w)
	size := tc.n * p.OutC * oh * ow

	want := make([]float32, size)
	ConvReference(want, src, weight, bias, p, tc.n, tc.h, tc.w)
	absP := p
	absP.ReLU = false
	bound := make([]float32, size)
	ConvReference(bound, absSlice(src), absSlice(weight), absSlice(bias), absP, tc.n, tc.h, tc.w)

	conv, err := NewConv(p, weight, bias)
	if err != nil {
		t.Fatalf("NewConv: %v", err)
	}
	const guard = 67
	buf := make([]float32, size+2*guard)
	for i := range buf {
		buf[i] = 12345
	}
	dst := buf[guard : guard+size]
	scratch := randomSlice(r, conv.ScratchFloats(tc.h, tc.w))
	conv.Run(pool, dst, src, scratch, tc.n, tc.h, tc.w)

	for i := range guard {
		if buf[i] != 12345 || buf[guard+size+i] != 12345 {
			t.Fatalf("Run wrote outside dst (guard element %d)", i)
		}
	}
	const eps = 0x1p-23
	bad := 0
	for i := range want {
		diff := math.Abs(float64(dst[i] - want[i]))
		tol := 16 * eps * float64(bound[i])
		if !(diff <= tol) {
			if bad++; bad <= 5 {
				t.Errorf("output %d (plane %d, pixel %d): got %g, want %g (diff %.3g > %.3g)",
					i, i/(oh*ow), i%(oh*ow), dst[i], want[i], diff, tol)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d outputs wrong", bad, size)
	}
}

func TestConvMatchesReference(t *testing.T) {
	pool := NewPool(3)
	defer pool.Close()
	cases := append(fixedConvCases(), randomConvCases(60)...)
	for _, impl := range impls(t) {
		impl.use()
		for i, tc := range cases {
			t.Run(impl.name+"/"+tc.name, func(t *testing.T) {
				checkConv(t, pool, tc, uint64(i))
			})
		}
	}
}

func TestConvNilPool(t *testing.T) {
	for _, impl := range impls(t) {
		impl.use()
		t.Run(impl.name, func(t *testing.T) {
			checkConv(t, nil, convCase{"nil", conv3x3(16, 24, 2, true), 2, 20, 21}, 99)
		})
	}
}

// TestConvReach checks for many shapes that every tile's reads stay inside
// the padded input that the direct path keeps in scratch.
func TestConvReach(t *testing.T) {
	for _, tc := range append(fixedConvCases(), randomConvCases(200)...) {
		c, err := NewConv(tc.p, make([]float32, tc.p.OutC*tc.p.InC*tc.p.KH*tc.p.KW),
			make([]float32, tc.p.OutC))
		if err != nil {
			t.Fatalf("%s: NewConv: %v", tc.name, err)
		}
		g := c.geometry(tc.h, tc.w)
		for _, impl := range []convImpl{implGo, implAVX2, implAVX512, implAVX512Narrow} {
			tiles := (g.flat + impl.pixels() - 1) / impl.pixels()
			maxTap := int64(0)
			for _, off := range g.taps[:g.ntaps] {
				maxTap = max(maxTap, off)
			}
			last := (tc.p.InC-1)*g.chanStride + tiles*impl.pixels() - 1 + int(maxTap)
			if last >= g.padded {
				t.Errorf("%s/%v: reads element %d of %d", tc.name, impl, last, g.padded)
			}
		}
	}
}

func TestConvSegments(t *testing.T) {
	// Every flat position of every tile must be stored exactly once when
	// valid and never otherwise.
	for _, tc := range []struct{ oh, ow, wq, lanes int }{
		{16, 16, 17, 16}, {16, 16, 24, 16}, {5, 7, 16, 16}, {3, 40, 41, 16},
		{9, 9, 10, 8}, {4, 4, 8, 8}, {1, 1, 16, 16}, {7, 30, 33, 8},
	} {
		g := convGeom{oh: tc.oh, ow: tc.ow, wq: tc.wq, flat: (tc.oh-1)*tc.wq + tc.ow}
		stored := make([]int, tc.oh*tc.ow)
		var off [6]int64
		var mask [6]uint64
		for q0 := 0; q0 < g.flat; q0 += 3 * tc.lanes {
			g.fillSegments(q0, tc.lanes, off[:], mask[:])
			for seg := range 6 {
				for i := range tc.lanes {
					if mask[seg]>>i&1 == 1 {
						stored[off[seg]+int64(i)]++
					}
				}
			}
		}
		for i, n := range stored {
			if n != 1 {
				t.Errorf("%+v: output %d stored %d times", tc, i, n)
			}
		}
	}
}

func TestNewConvErrors(t *testing.T) {
	good := conv3x3(4, 8, 1, false)
	big := good
	big.KH, big.KW = 9, 9
	zeroStride := good
	zeroStride.StrideW = 0
	negPad := good
	negPad.PadTop = -1
	for _, tc := range []struct {
		name         string
		p            ConvParams
		weight, bias int
		wantShapeErr bool
	}{
		{"weight short", good, 4*8*9 - 1, 8, true},
		{"bias long", good, 4 * 8 * 9, 9, true},
		{"zero stride", zeroStride, 4 * 8 * 9, 8, false},
		{"negative pad", negPad, 4 * 8 * 9, 8, false},
		{"too many taps", big, 4 * 8 * 81, 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewConv(tc.p, make([]float32, tc.weight), make([]float32, tc.bias))
			if err == nil {
				t.Fatal("NewConv returned no error")
			}
			if got := errors.Is(err, ErrConvShape); got != tc.wantShapeErr {
				t.Errorf("errors.Is(%v, ErrConvShape) = %v, want %v", err, got, tc.wantShapeErr)
			}
		})
	}
}

func TestConvRunAllocs(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	p := conv3x3(16, 16, 2, true)
	c, err := NewConv(p, make([]float32, 16*16*9), make([]float32, 16))
	if err != nil {
		t.Fatal(err)
	}
	src := make([]float32, 16*32*32)
	dst := make([]float32, 16*32*32)
	for _, impl := range impls(t) {
		impl.use()
		scratch := make([]float32, c.ScratchFloats(32, 32))
		allocs := testing.AllocsPerRun(20, func() { c.Run(pool, dst, src, scratch, 1, 32, 32) })
		if allocs != 0 {
			t.Errorf("%s: Run allocates %v times per call", impl.name, allocs)
		}
	}
}

func TestConvConcurrentRuns(t *testing.T) {
	// One Conv and one Pool shared by goroutines that each have their own
	// scratch and destination.
	pool := NewPool(2)
	defer pool.Close()
	r := rand.New(rand.NewPCG(11, 12))
	p := conv3x3(16, 24, 1, true)
	weight, bias := randomSlice(r, 24*16*9), randomSlice(r, 24)
	c, err := NewConv(p, weight, bias)
	if err != nil {
		t.Fatal(err)
	}
	const h, w = 21, 37
	src := randomSlice(r, 16*h*w)
	want := make([]float32, 24*h*w)
	c.Run(nil, want, src, make([]float32, c.ScratchFloats(h, w)), 1, h, w)

	errs := make(chan error, 6)
	for range 6 {
		go func() {
			dst := make([]float32, len(want))
			scratch := make([]float32, c.ScratchFloats(h, w))
			for range 20 {
				c.Run(pool, dst, src, scratch, 1, h, w)
				for i := range dst {
					if dst[i] != want[i] {
						errs <- fmt.Errorf("output %d: got %g, want %g", i, dst[i], want[i])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestConvScratchSizes(t *testing.T) {
	// Run takes the Winograd path on as many workers as the scratch has
	// buffers for, or the direct path when it holds only the padded input.
	pool := NewPool(2)
	defer pool.Close()
	r := rand.New(rand.NewPCG(13, 14))
	p := conv3x3(16, 16, 1, true)
	const h, w = 20, 40
	weight, bias := randomSlice(r, 16*16*9), randomSlice(r, 16)
	src := randomSlice(r, 16*h*w)
	want := make([]float32, 16*h*w)
	ConvReference(want, src, weight, bias, p, 1, h, w)
	for _, impl := range impls(t) {
		impl.use()
		c, err := NewConv(p, weight, bias)
		if err != nil {
			t.Fatal(err)
		}
		g := c.geometry(h, w)
		sizes := []int{c.ScratchFloats(h, w), g.padded}
		if impl, base, ok := c.winogradPlan(&g); ok {
			sizes = append(sizes, base+c.winogradGeometry(&g, impl.lanes()).slot)
		}
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", impl.name, size), func(t *testing.T) {
				dst := make([]float32, len(want))
				c.Run(pool, dst, src, make([]float32, size), 1, h, w)
				for i := range want {
					if d := math.Abs(float64(dst[i] - want[i])); d > 1e-4 {
						t.Fatalf("output %d: got %g, want %g", i, dst[i], want[i])
					}
				}
			})
		}
	}
}
