package imaging

// adler32Mod is the Adler-32 modulus, the largest prime below 2^16.
const adler32Mod = 65521

// adler32MaxBlocks bounds the 32-byte blocks of one adler32AVX2 call: the
// weighted sums then stay below 2^32 in each lane, and the totals, added
// to sums already reduced, stay below 2^64.
const adler32MaxBlocks = 1024

var adler32Taps = func() (t [32]uint8) {
	for j := range t {
		t[j] = uint8(32 - j)
	}
	return t
}()

// adler32Digest is an Adler-32 checksum (RFC 1950) that sums whole
// 32-byte blocks with AVX2 where the CPU has it. Its zero value is not
// ready: start from newAdler32. Go reference: hash/adler32.
type adler32Digest struct {
	s1, s2 uint32
}

func newAdler32() *adler32Digest { return &adler32Digest{s1: 1} }

// Write adds p to the checksum and returns len(p) and a nil error.
func (d *adler32Digest) Write(p []byte) (int, error) {
	n := len(p)
	if !useAVX2 {
		d.s1, d.s2 = adler32Update(d.s1, d.s2, p)
		return n, nil
	}
	s1, s2 := uint64(d.s1), uint64(d.s2)
	for len(p) >= 32 {
		blocks := min(len(p)/32, adler32MaxBlocks)
		b1, b2, ps := adler32AVX2(&p[0], blocks, &adler32Taps)
		s2 = (s2 + uint64(blocks)*32*s1 + 32*ps + b2) % adler32Mod
		s1 = (s1 + b1) % adler32Mod
		p = p[32*blocks:]
	}
	d.s1, d.s2 = adler32Update(uint32(s1), uint32(s2), p)
	return n, nil
}

// Sum32 returns the checksum of the bytes written so far.
func (d *adler32Digest) Sum32() uint32 { return d.s2<<16 | d.s1 }

// adler32Update is the byte-wise Adler-32 update, for tails and CPUs
// without AVX2.
func adler32Update(s1, s2 uint32, p []byte) (uint32, uint32) {
	for len(p) > 0 {
		// 5552 bytes is the most that keeps s2 below 2^32 before the
		// modulo (zlib's NMAX).
		chunk := p[:min(len(p), 5552)]
		p = p[len(chunk):]
		for _, b := range chunk {
			s1 += uint32(b)
			s2 += s1
		}
		s1 %= adler32Mod
		s2 %= adler32Mod
	}
	return s1, s2
}

// adler32Combine returns the Adler-32 of the concatenation of two byte
// strings from a, the checksum of the first, and b, the checksum of the
// second, of n bytes. Each byte of the second string adds the first's s1,
// less the initial 1 that b already counted, to s2.
func adler32Combine(a, b uint32, n int) uint32 {
	const m = adler32Mod
	s1a, s2a := uint64(a&0xffff), uint64(a>>16)
	s1b, s2b := uint64(b&0xffff), uint64(b>>16)
	s1 := (s1a + s1b + m - 1) % m
	s2 := (s2a + s2b + uint64(n%m)*((s1a+m-1)%m)) % m
	return uint32(s2<<16 | s1)
}
