package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The shapes below are the largest of each operation in ISNet at a
// 1024×1024 input.

func BenchmarkMaxPool(b *testing.B) {
	pool := NewPool(0)
	defer pool.Close()
	r := rand.New(rand.NewPCG(1, 3))
	for _, s := range []struct{ c, h int }{{64, 512}, {32, 512}, {512, 33}} {
		src := randomSlice(r, s.c*s.h*s.h)
		p := PoolParams{2, 2, 2, 2, true}
		oh, ow := p.OutSize(s.h, s.h)
		dst := make([]float32, s.c*oh*ow)
		b.Run(fmt.Sprintf("%dx%d", s.c, s.h), func(b *testing.B) {
			b.SetBytes(int64(4 * (len(src) + len(dst))))
			b.ReportAllocs()
			for b.Loop() {
				MaxPool(pool, dst, src, p, 1, s.c, s.h, s.h)
			}
		})
	}
}

func BenchmarkResizeBilinear(b *testing.B) {
	pool := NewPool(0)
	defer pool.Close()
	r := rand.New(rand.NewPCG(1, 4))
	for _, s := range []struct{ c, h, oh int }{{64, 256, 512}, {32, 256, 512}, {1, 512, 1024}} {
		src := randomSlice(r, s.c*s.h*s.h)
		dst := make([]float32, s.c*s.oh*s.oh)
		b.Run(fmt.Sprintf("%dx%d-to-%d", s.c, s.h, s.oh), func(b *testing.B) {
			b.SetBytes(int64(4 * (len(src) + len(dst))))
			b.ReportAllocs()
			for b.Loop() {
				ResizeBilinear(pool, dst, src, 1, s.c, s.h, s.h, s.oh, s.oh)
			}
		})
	}
}

func BenchmarkElementwise(b *testing.B) {
	pool := NewPool(0)
	defer pool.Close()
	r := rand.New(rand.NewPCG(1, 5))
	x := randomSlice(r, 64*512*512)
	y := randomSlice(r, len(x))
	dst := make([]float32, len(x))
	for _, op := range []struct {
		name string
		n    int
		run  func(n int)
	}{
		{"add/64x512x512", len(x), func(n int) { Add(pool, dst[:n], x[:n], y[:n]) }},
		{"relu/64x512x512", len(x), func(n int) { ReLU(pool, dst[:n], x[:n]) }},
		{"sigmoid/1024x1024", 1 << 20, func(n int) { Sigmoid(pool, dst[:n], x[:n]) }},
	} {
		b.Run(op.name, func(b *testing.B) {
			b.SetBytes(int64(8 * op.n))
			b.ReportAllocs()
			for b.Loop() {
				op.run(op.n)
			}
		})
	}
}
