package daemon

import "testing"

func TestSizeClass(t *testing.T) {
	tests := []struct {
		n    int
		want int
	}{
		{0, 0},
		{1, 0},
		{4096, 0},
		{4097, 1},
		{8192, 1},
		{8193, 2},
		{1 << 30, numClasses - 1},
		{1<<30 + 1, -1},
	}
	for _, tt := range tests {
		if got := sizeClass(tt.n); got != tt.want {
			t.Errorf("sizeClass(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

func TestBufPoolZeroesOnPut(t *testing.T) {
	var p bufPool
	for _, n := range []int{10, 5000, 100_000} {
		b := p.get(n)
		if len(b.B) != n {
			t.Fatalf("get(%d): len %d", n, len(b.B))
		}
		for i := range b.B {
			b.B[i] = 0xAB
		}
		p.put(b)
		// A buffer of the same class must come back zeroed, whether or not
		// the pool returned the same one.
		b = p.get(n)
		for i, c := range b.B {
			if c != 0 {
				t.Fatalf("get(%d) after put: byte %d is %#x, want 0", n, i, c)
			}
		}
		p.put(b)
	}
}

func TestBufPoolOversized(t *testing.T) {
	var p bufPool
	b := &pooledBuf{B: []byte{1, 2, 3}, class: -1}
	backing := b.B
	p.put(b)
	for i, c := range backing {
		if c != 0 {
			t.Fatalf("oversized buffer byte %d = %d after put, want 0", i, c)
		}
	}
}
