package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestMaxPoolMatchesReference(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		p          PoolParams
		n, c, h, w int
	}{
		{PoolParams{2, 2, 2, 2, true}, 1, 3, 16, 16},
		{PoolParams{2, 2, 2, 2, true}, 2, 5, 17, 9},
		{PoolParams{2, 2, 2, 2, true}, 1, 1, 1, 1},
		{PoolParams{2, 2, 2, 2, true}, 1, 2, 1, 7},
		{PoolParams{2, 2, 2, 2, false}, 1, 4, 17, 9},
		{PoolParams{3, 3, 2, 2, true}, 1, 4, 10, 11},
		{PoolParams{3, 2, 1, 2, false}, 2, 2, 8, 13},
		{PoolParams{2, 2, 3, 3, true}, 1, 2, 10, 10},
		{PoolParams{2, 2, 2, 2, true}, 1, 64, 255, 255},
	} {
		name := fmt.Sprintf("%dx%ds%dx%d/ceil=%v/%dx%dx%dx%d", tc.p.KH, tc.p.KW,
			tc.p.StrideH, tc.p.StrideW, tc.p.CeilMode, tc.n, tc.c, tc.h, tc.w)
		src := randomSlice(r, tc.n*tc.c*tc.h*tc.w)
		oh, ow := tc.p.OutSize(tc.h, tc.w)
		want := make([]float32, tc.n*tc.c*oh*ow)
		MaxPoolReference(want, src, tc.p, tc.n, tc.c, tc.h, tc.w)
		for _, impl := range impls(t) {
			impl.use()
			t.Run(impl.name+"/"+name, func(t *testing.T) {
				got := make([]float32, len(want))
				MaxPool(pool, got, src, tc.p, tc.n, tc.c, tc.h, tc.w)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("output %d: got %g, want %g", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func TestPoolOutSize(t *testing.T) {
	for _, tc := range []struct {
		p            PoolParams
		h, w, oh, ow int
	}{
		{PoolParams{2, 2, 2, 2, true}, 512, 512, 256, 256},
		{PoolParams{2, 2, 2, 2, true}, 33, 1, 17, 1},
		{PoolParams{2, 2, 2, 2, false}, 33, 1, 16, 0},
		{PoolParams{3, 3, 2, 2, true}, 6, 7, 3, 3},
		{PoolParams{2, 2, 3, 3, true}, 10, 10, 4, 4},
	} {
		oh, ow := tc.p.OutSize(tc.h, tc.w)
		if oh != tc.oh || ow != tc.ow {
			t.Errorf("%+v.OutSize(%d, %d) = %d, %d, want %d, %d",
				tc.p, tc.h, tc.w, oh, ow, tc.oh, tc.ow)
		}
	}
}

func TestResizeBilinearMatchesReference(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ n, c, h, w, oh, ow int }{
		{1, 3, 16, 16, 32, 32},
		{2, 2, 7, 9, 14, 18},
		{1, 1, 1, 1, 5, 3},
		{1, 2, 32, 32, 512, 512},
		{1, 2, 20, 30, 7, 11},
		{1, 1, 5, 5, 5, 5},
		{1, 1, 3, 4000, 6, 4100},
		{1, 1, 1, 1, 2, 2},
		{1, 1, 2, 2, 4, 4},
		{1, 3, 5, 9, 10, 18},
		{2, 2, 4, 10, 8, 20},
		{1, 1, 6, 17, 12, 34},
		{1, 1, 3, 26, 6, 52},
		{1, 1, 3, 1500, 6, 3000},
		{1, 1, 4, 33, 8, 50},
	} {
		name := fmt.Sprintf("%dx%dx%dx%d-to-%dx%d", tc.n, tc.c, tc.h, tc.w, tc.oh, tc.ow)
		src := randomSlice(r, tc.n*tc.c*tc.h*tc.w)
		want := make([]float32, tc.n*tc.c*tc.oh*tc.ow)
		ResizeBilinearReference(want, src, tc.n, tc.c, tc.h, tc.w, tc.oh, tc.ow)
		for _, impl := range impls(t) {
			impl.use()
			t.Run(impl.name+"/"+name, func(t *testing.T) {
				got := make([]float32, len(want))
				ResizeBilinear(pool, got, src, tc.n, tc.c, tc.h, tc.w, tc.oh, tc.ow)
				for i := range want {
					// The float32 source coordinate is off by a few ulps
					// of its size; samples in [−1, 1] change by at most 2
					// per pixel.
					tol := 1e-6 + 16*0x1p-23*float64(max(tc.h, tc.w))
					if d := math.Abs(float64(got[i] - want[i])); d > tol {
						t.Fatalf("output %d: got %g, want %g", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func TestResizeBilinearHalfPixel(t *testing.T) {
	// half_pixel samples (x+0.5)/2−0.5: −0.25 (clamped), 0.25, 0.75, 1.25
	// (clamped) for a doubling, and 0.5·3−0.5 = 1 for a third.
	for _, tc := range []struct {
		name      string
		src, want []float32
		w, ow     int
	}{
		{"double", []float32{1, 2}, []float32{1, 1.25, 1.75, 2}, 2, 4},
		{"third", []float32{0, 3, 6}, []float32{3}, 3, 1},
		{"same", []float32{4, -1, 2}, []float32{4, -1, 2}, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]float32, tc.ow)
			ResizeBilinear(nil, got, tc.src, 1, 1, 1, tc.w, 1, tc.ow)
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestElementwise(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	r := rand.New(rand.NewPCG(8, 9))
	const n = 100003
	a, b := randomSlice(r, n), randomSlice(r, n)
	for i := range a {
		a[i] *= 30
	}
	a[0], a[1], a[2], a[3], a[4], a[5] = -200, 200, -90, -87.5, 17, float32(math.Inf(-1))

	t.Run("add", func(t *testing.T) {
		dst := make([]float32, n)
		Add(pool, dst, a, b)
		for i := range dst {
			if dst[i] != a[i]+b[i] {
				t.Fatalf("element %d: got %g, want %g", i, dst[i], a[i]+b[i])
			}
		}
	})
	t.Run("relu-in-place", func(t *testing.T) {
		dst := append([]float32(nil), a...)
		ReLU(pool, dst, dst)
		for i := range dst {
			if want := max(a[i], 0); dst[i] != want {
				t.Fatalf("element %d: got %g, want %g", i, dst[i], want)
			}
		}
	})
	t.Run("sigmoid", func(t *testing.T) {
		dst := make([]float32, n)
		Sigmoid(pool, dst, a)
		for i := range dst {
			want := float32(1 / (1 + math.Exp(-float64(a[i]))))
			if d := math.Abs(float64(dst[i] - want)); d > 0x1p-23*float64(want) {
				t.Fatalf("element %d: sigmoid(%g) = %g, want %g", i, a[i], dst[i], want)
			}
		}
	})
}

func TestZero(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	r := rand.New(rand.NewPCG(10, 11))
	for _, n := range []int{0, 1, 1000, zeroChunk - 1, zeroChunk + 17, 2*zeroChunk + 5} {
		buf := randomSlice(r, n+2)
		for i := range buf {
			buf[i] += 2 // never zero before the call
		}
		Zero(pool, buf[1:n+1])
		if buf[0] == 0 || buf[n+1] == 0 {
			t.Fatalf("n=%d: Zero wrote outside its slice", n)
		}
		for i, v := range buf[1 : n+1] {
			if v != 0 {
				t.Fatalf("n=%d: element %d is %g after Zero", n, i, v)
			}
		}
	}
}

func TestKernelAllocs(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	src := make([]float32, 8*64*64)
	dst := make([]float32, 8*128*128)
	pp := PoolParams{2, 2, 2, 2, true}
	for _, tc := range []struct {
		name string
		run  func()
	}{
		{"maxpool", func() { MaxPool(pool, dst, src, pp, 1, 8, 64, 64) }},
		{"resize", func() { ResizeBilinear(pool, dst, src, 1, 8, 64, 64, 128, 128) }},
		{"add", func() { Add(pool, src, src, src) }},
		{"sigmoid", func() { Sigmoid(pool, src, src) }},
		{"relu", func() { ReLU(pool, src, src) }},
	} {
		if allocs := testing.AllocsPerRun(20, tc.run); allocs != 0 {
			t.Errorf("%s allocates %v times per call", tc.name, allocs)
		}
	}
}

func TestPoolConcurrentCallers(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	const n = 1 << 16
	var wg sync.WaitGroup
	errs := make([]string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := make([]float32, n)
			for i := range a {
				a[i] = float32(g)
			}
			for range 50 {
				Add(pool, a, a, a)
				ReLU(pool, a, a)
				for i := range a {
					a[i] = float32(g)
				}
			}
			Add(pool, a, a, a)
			for i, v := range a {
				if v != float32(2*g) {
					errs[g] = fmt.Sprintf("caller %d element %d: got %g", g, i, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
}

func TestPoolPanicReachesCaller(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	// Worker 0 is the caller, worker 1 the helper. Each unit of the job
	// takes 200 µs, so the helper joins long before the 64 units are done.
	for _, worker := range []int{0, 1} {
		for range 10 {
			got := func() (v any) {
				defer func() { v = recover() }()
				j := job{kind: jobPanic, units: 64, c: worker}
				pool.run(&j)
				return nil
			}()
			if got == nil {
				t.Fatalf("worker %d panicked, the call returned normally", worker)
			}
			want := fmt.Sprintf("failed on worker %d", worker)
			if !strings.Contains(fmt.Sprint(got), want) {
				t.Fatalf("call panicked with %v, want %q", got, want)
			}
		}
	}

	a := []float32{1, -2, 3}
	ReLU(pool, a, a)
	if a[1] != 0 {
		t.Errorf("ReLU after the panics: got %v", a)
	}
	b := make([]float32, 2*zeroChunk+1)
	for i := range b {
		b[i] = 1
	}
	Zero(pool, b)
	for i, v := range b {
		if v != 0 {
			t.Fatalf("Zero after the panics: element %d is %g", i, v)
		}
	}
}

func TestPoolClose(t *testing.T) {
	pool := NewPool(3)
	if got := pool.Workers(); got != 3 {
		t.Errorf("Workers() = %d, want 3", got)
	}
	pool.Close()
	pool.Close()
	a := []float32{1, -2, 3}
	ReLU(pool, a, a)
	if a[1] != 0 {
		t.Errorf("ReLU after Close: got %v", a)
	}
	var nilPool *Pool
	if got := nilPool.Workers(); got != 1 {
		t.Errorf("nil Workers() = %d, want 1", got)
	}
	if got := NewPool(0).Workers(); got < 1 {
		t.Errorf("NewPool(0).Workers() = %d", got)
	}
}
