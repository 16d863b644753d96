package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// isnetConv is one convolution of ISNet at a 1024×1024 input.
type isnetConv struct {
	in, out, dilation, size int
	stride2                 bool
}

// macs returns the multiply-accumulates of one image.
func (c isnetConv) macs() float64 {
	return float64(c.in) * float64(c.out) * 9 * float64(c.size) * float64(c.size)
}

// params returns the convolution's parameters; all but the 1-channel side
// outputs are followed by a ReLU.
func (c isnetConv) params() ConvParams {
	p := conv3x3(c.in, c.out, c.dilation, c.out > 1)
	if c.stride2 {
		p.StrideH, p.StrideW = 2, 2
	}
	return p
}

// inputSize returns the input height and width.
func (c isnetConv) inputSize() int {
	if c.stride2 {
		return 2 * c.size
	}
	return c.size
}

// isnetConvs lists the 119 convolutions of ISNet (DIS, isnet-general-use)
// for a 1024×1024 image: the stride-2 stem, the RSU blocks of the encoder
// and decoder, and the six 1-channel side outputs.
func isnetConvs() []isnetConv {
	var list []isnetConv
	// rsu adds an RSU block of the given height (7..4) at size s.
	rsu := func(height, in, mid, out, s int) {
		list = append(list, isnetConv{in, out, 1, s, false}, isnetConv{out, mid, 1, s, false})
		for l := 1; l <= height-2; l++ {
			list = append(list, isnetConv{mid, mid, 1, s >> l, false})
		}
		list = append(list, isnetConv{mid, mid, 2, s >> (height - 2), false})
		for l := height - 2; l >= 1; l-- {
			list = append(list, isnetConv{2 * mid, mid, 1, s >> l, false})
		}
		list = append(list, isnetConv{2 * mid, out, 1, s, false})
	}
	// rsu4f adds a dilated RSU-4F block at size s.
	rsu4f := func(in, mid, out, s int) {
		list = append(list, isnetConv{in, out, 1, s, false}, isnetConv{out, mid, 1, s, false},
			isnetConv{mid, mid, 2, s, false}, isnetConv{mid, mid, 4, s, false},
			isnetConv{mid, mid, 8, s, false}, isnetConv{2 * mid, mid, 4, s, false},
			isnetConv{2 * mid, mid, 2, s, false}, isnetConv{2 * mid, out, 1, s, false})
	}
	list = append(list, isnetConv{3, 64, 1, 512, true})
	rsu(7, 64, 32, 64, 512)
	rsu(6, 64, 32, 128, 256)
	rsu(5, 128, 64, 256, 128)
	rsu(4, 256, 128, 512, 64)
	rsu4f(512, 256, 512, 32)
	rsu4f(512, 256, 512, 16)
	rsu4f(1024, 256, 512, 32)
	rsu(4, 1024, 128, 256, 64)
	rsu(5, 512, 64, 128, 128)
	rsu(6, 256, 32, 64, 256)
	rsu(7, 128, 16, 64, 512)
	for _, s := range []struct{ in, size int }{{64, 512}, {64, 256}, {128, 128}, {256, 64},
		{512, 32}, {512, 16}} {
		list = append(list, isnetConv{s.in, 1, 1, s.size, false})
	}
	return list
}

func TestISNetConvList(t *testing.T) {
	list := isnetConvs()
	if len(list) != 119 {
		t.Errorf("%d convolutions, want 119", len(list))
	}
	total := 0.0
	for _, c := range list {
		total += c.macs()
	}
	// The stem's 3 input channels at stride 2 count 9·3·64 MACs per
	// output pixel like the others; ISNet's total is 159.7 GMAC.
	if total < 159.6e9 || total > 159.8e9 {
		t.Errorf("total %.2f GMAC, want 159.7", total/1e9)
	}
}

// convFixture is one convolution with random weights and its buffers.
type convFixture struct {
	conv              *Conv
	src, dst, scratch []float32
	n, h, w           int
	macs              float64
}

// newConvFixture builds c with random weights and input for n images.
func newConvFixture(r *rand.Rand, c isnetConv, n int) *convFixture {
	p := c.params()
	conv, err := NewConv(p, randomSlice(r, p.OutC*p.InC*9), randomSlice(r, p.OutC))
	if err != nil {
		panic(err)
	}
	h := c.inputSize()
	oh, ow := p.OutSize(h, h)
	return &convFixture{
		conv: conv,
		src:  randomSlice(r, n*p.InC*h*h),
		dst:  make([]float32, n*p.OutC*oh*ow),
		// Room for the direct path too: benchmarks switch paths.
		scratch: make([]float32, max(conv.ScratchFloats(h, h), conv.geometry(h, h).padded)),
		n:       n, h: h, w: h,
		macs: float64(n) * c.macs(),
	}
}

// run runs the fixture's convolution once.
func (f *convFixture) run(pool *Pool) {
	f.conv.Run(pool, f.dst, f.src, f.scratch, f.n, f.h, f.w)
}

// benchConvShapes are the main ISNet convolution shapes.
var benchConvShapes = []struct {
	name string
	conv isnetConv
}{
	{"stem3to64s2@512", isnetConv{3, 64, 1, 512, true}},
	{"64to64@512", isnetConv{64, 64, 1, 512, false}},
	{"64to32@512", isnetConv{64, 32, 1, 512, false}},
	{"128to64@512", isnetConv{128, 64, 1, 512, false}},
	{"64to16@512", isnetConv{64, 16, 1, 512, false}},
	{"64to1@512", isnetConv{64, 1, 1, 512, false}},
	{"32to32@256", isnetConv{32, 32, 1, 256, false}},
	{"128to128@256", isnetConv{128, 128, 1, 256, false}},
	{"256to128@128", isnetConv{256, 128, 1, 128, false}},
	{"128to64@128", isnetConv{128, 64, 1, 128, false}},
	{"512to256@64", isnetConv{512, 256, 1, 64, false}},
	{"256to128@64", isnetConv{256, 128, 1, 64, false}},
	{"1024to512@32", isnetConv{1024, 512, 1, 32, false}},
	{"512to512@32", isnetConv{512, 512, 1, 32, false}},
	{"256to256d8@32", isnetConv{256, 256, 8, 32, false}},
	{"512to256d4@16", isnetConv{512, 256, 4, 16, false}},
	{"32to32@16", isnetConv{32, 32, 1, 16, false}},
}

func BenchmarkConv(b *testing.B) {
	pool := NewPool(0)
	defer pool.Close()
	r := rand.New(rand.NewPCG(1, 1))
	avx512, avx2 := UseAVX512, UseAVX2
	defer func() { UseAVX512, UseAVX2 = avx512, avx2 }()
	for _, shape := range benchConvShapes {
		f := newConvFixture(r, shape.conv, 1)
		wino := f.conv.wino
		// impl=asm is what Run picks, Winograd where it applies;
		// impl=direct is the assembly direct convolution alone.
		for _, impl := range []string{"asm", "direct", "go"} {
			b.Run(shape.name+"/impl="+impl, func(b *testing.B) {
				UseAVX512, UseAVX2 = avx512, avx2
				f.conv.wino = wino
				defer func() { f.conv.wino = wino }()
				switch {
				case impl == "direct" && wino == nil:
					b.Skip("same as impl=asm: no Winograd path for this shape")
				case impl == "direct":
					f.conv.wino = nil
				case impl == "go":
					UseAVX512, UseAVX2 = false, false
					if f.macs > 3e8 {
						b.Skip("portable kernel too slow for this shape")
					}
				}
				b.SetBytes(int64(4 * (len(f.src) + len(f.dst))))
				b.ReportAllocs()
				for b.Loop() {
					f.run(pool)
				}
				b.ReportMetric(f.macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// TestISNetConvThroughput runs every convolution of one ISNet forward pass
// on random weights and reports GMAC/s, overall and per shape, from the
// best of 3 runs of each convolution. It reports
// and asserts nothing about speed; run it with -v to see the numbers.
func TestISNetConvThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 160 GMAC")
	}
	if !UseAVX512 && !UseAVX2 {
		t.Skip("the portable kernel takes minutes for 160 GMAC")
	}
	pool := NewPool(0)
	defer pool.Close()
	r := rand.New(rand.NewPCG(2, 2))

	type stat struct {
		name      string
		macs, sec float64
		count     int
	}
	stats := map[string]*stat{}
	var total, totalSec float64
	for _, c := range isnetConvs() {
		f := newConvFixture(r, c, 1)
		// The best of 3 runs, the first of which also faults in the
		// buffers' pages, so that load from other processes counts less.
		sec := math.Inf(1)
		for range 3 {
			start := time.Now()
			f.run(pool)
			sec = min(sec, time.Since(start).Seconds())
		}
		path := "direct"
		if g := f.conv.geometry(f.h, f.w); f.conv.wino != nil && g.ow >= winogradMinWidth {
			path = "winograd"
		}
		name := fmt.Sprintf("%dto%d d%d @%d %s", c.in, c.out, c.dilation, c.size, path)
		if stats[name] == nil {
			stats[name] = &stat{name: name}
		}
		s := stats[name]
		s.macs += f.macs
		s.sec += sec
		s.count++
		total += f.macs
		totalSec += sec
	}
	list := make([]*stat, 0, len(stats))
	for _, s := range stats {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].sec > list[j].sec })
	kernel := "go"
	if UseAVX512 {
		kernel = "avx512"
	} else if UseAVX2 {
		kernel = "avx2"
	}
	// GMAC counts the direct convolution's multiply-adds, also for the
	// Winograd path, so the rates compare with other engines' on the
	// same network.
	t.Logf("ISNet convolutions, %s kernel, %d workers: %.1f GMAC in %.3f s = %.1f GMAC/s",
		kernel, pool.Workers(), total/1e9, totalSec, total/totalSec/1e9)
	for _, s := range list {
		t.Logf("  %-27s ×%-2d %7.2f GMAC %8.1f ms %6.1f GMAC/s",
			s.name, s.count, s.macs/1e9, s.sec*1e3, s.macs/s.sec/1e9)
	}
}
