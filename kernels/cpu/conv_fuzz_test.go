package cpu

import "testing"

// FuzzConv compares Run, on every kernel this CPU can run, with the
// reference on shapes decoded from the fuzz input: channels, kernel size,
// stride, padding, dilation and image size, each kept small.
func FuzzConv(f *testing.F) {
	f.Add(uint8(16), uint8(16), uint8(3), uint8(3), uint8(1), uint8(1), uint8(1), uint8(1),
		uint8(20), uint8(40), false)
	f.Add(uint8(3), uint8(64), uint8(3), uint8(3), uint8(2), uint8(1), uint8(1), uint8(1),
		uint8(17), uint8(33), true)
	f.Add(uint8(20), uint8(17), uint8(3), uint8(3), uint8(1), uint8(8), uint8(8), uint8(8),
		uint8(32), uint8(32), true)
	f.Add(uint8(5), uint8(1), uint8(1), uint8(4), uint8(3), uint8(0), uint8(2), uint8(2),
		uint8(1), uint8(9), false)
	f.Fuzz(func(t *testing.T, inC, outC, kh, kw, stride, pad, padRight, dilation, h, w uint8,
		relu bool) {
		p := ConvParams{
			InC: 1 + int(inC)%40, OutC: 1 + int(outC)%40,
			KH: 1 + int(kh)%5, KW: 1 + int(kw)%5,
			StrideH: 1 + int(stride)%3, StrideW: 1 + int(stride/3)%3,
			PadTop: int(pad) % 9, PadLeft: int(pad/9) % 9,
			PadBottom: int(padRight) % 9, PadRight: int(padRight/9) % 9,
			DilationH: 1 + int(dilation)%8, DilationW: 1 + int(dilation/8)%8,
			ReLU: relu,
		}
		// Winograd's shape: a square 3×3 kernel, one dilation, same padding.
		if kh%2 == 1 && p.KH == 3 {
			p.KW, p.StrideH, p.StrideW = 3, 1, 1
			p.DilationW = p.DilationH
			p.PadTop, p.PadLeft, p.PadBottom, p.PadRight =
				p.DilationH, p.DilationH, p.DilationH, p.DilationH
		}
		hh, ww := 1+int(h)%48, 1+int(w)%72
		if oh, ow := p.OutSize(hh, ww); oh <= 0 || ow <= 0 {
			t.Skip("kernel larger than the padded input")
		}
		for _, impl := range impls(t) {
			impl.use()
			checkConv(t, nil, convCase{"fuzz", p, 1, hh, ww}, uint64(inC)<<8|uint64(outC))
		}
	})
}
