package imaging

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/rmbgd/rmbgd/imaging/imagingtest"
)

// grayProfile returns a gray ICC profile whose only tag is kTRC, holding
// curve, an encoded curv or para tag.
func grayProfile(curve []byte) []byte {
	const tagAt = iccHeaderSize + 4 + 12
	p := imagingtest.ICCProfile(tagAt+len(curve), "GRAY", 0)
	binary.BigEndian.PutUint32(p[iccHeaderSize:], 1)
	entry := p[iccHeaderSize+4:]
	copy(entry, "kTRC")
	binary.BigEndian.PutUint32(entry[4:], tagAt)
	binary.BigEndian.PutUint32(entry[8:], uint32(len(curve)))
	copy(p[tagAt:], curve)
	return p
}

// curvTag encodes a curv tag with the given entries.
func curvTag(entries ...uint16) []byte {
	tag := make([]byte, 12+2*len(entries))
	copy(tag, "curv")
	binary.BigEndian.PutUint32(tag[8:], uint32(len(entries)))
	for i, e := range entries {
		binary.BigEndian.PutUint16(tag[12+2*i:], e)
	}
	return tag
}

// paraTag encodes a para tag of the given function type and parameters.
func paraTag(kind uint16, params ...float64) []byte {
	tag := make([]byte, 12+4*len(params))
	copy(tag, "para")
	binary.BigEndian.PutUint16(tag[8:], kind)
	for i, v := range params {
		binary.BigEndian.PutUint32(tag[12+4*i:], uint32(int32(math.Round(v*65536))))
	}
	return tag
}

func TestGrayProfileLUT(t *testing.T) {
	srgb := func(y float64) uint8 { return uint8(math.Round(255 * srgbEncode(y))) }
	tests := []struct {
		name  string
		curve []byte
		want  func(x float64) uint8 // nil: the profile is not usable
	}{
		{"curv identity", curvTag(), func(x float64) uint8 { return srgb(x) }},
		{"curv gamma 2.2", curvTag(0x0233),
			func(x float64) uint8 { return srgb(math.Pow(x, 563.0/256)) }},
		{"curv table", curvTag(0, 65535),
			func(x float64) uint8 { return srgb(x) }},
		// The sRGB curve itself, as parametric type 3: the table is the
		// identity within the rounding of the parameters.
		{"para srgb", paraTag(3, 2.4, 1/1.055, 0.055/1.055, 1/12.92, 0.04045),
			func(x float64) uint8 { return uint8(math.Round(255 * x)) }},
		{"para gamma 1.8", paraTag(0, 1.8),
			func(x float64) uint8 { return srgb(math.Pow(x, 1.8)) }},
		{"para unknown type", paraTag(9, 1), nil},
		{"para cut short", paraTag(4, 2.4, 1)[:20], nil},
		{"curv count past the end", curvTag(1, 2, 3)[:14], nil},
		{"other tag type", []byte("XYZ \x00\x00\x00\x00\x00\x00\x00\x00"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lut, ok := grayProfileLUT(grayProfile(tc.curve))
			if tc.want == nil {
				if ok {
					t.Fatal("the profile was read; want it rejected")
				}
				return
			}
			if !ok {
				t.Fatal("the profile was rejected")
			}
			for i, got := range lut {
				want := tc.want(float64(i) / 255)
				if d := int(got) - int(want); d < -1 || d > 1 {
					t.Fatalf("sample %d: %d, want %d", i, got, want)
				}
			}
		})
	}
}

func TestDecodeAppliesGrayProfile(t *testing.T) {
	p := pngCase(imagingtest.Gray, 8)
	plain := decode(t, p.Encode())
	defer plain.Release()

	p.ICC = grayProfile(curvTag(0x0233)) // gamma 2.2
	img := decode(t, p.Encode())
	defer img.Release()
	if img.ICC != nil {
		t.Errorf("the gray profile was kept (%d bytes); want it applied and dropped",
			len(img.ICC))
	}
	lut, _ := grayProfileLUT(p.ICC)
	changed := false
	for i, v := range plain.RGB {
		if img.RGB[i] != lut[v] {
			t.Fatalf("sample %d: %d, want %d (stored %d)", i, img.RGB[i], lut[v], v)
		}
		changed = changed || lut[v] != v
	}
	if !changed {
		t.Error("no sample changed; the test photo checks nothing")
	}
}
