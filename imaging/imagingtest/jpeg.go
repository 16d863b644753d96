package imagingtest

import (
	"encoding/binary"
)

// JPEG describes a JPEG whose every 8×8 block is flat, so the decoded
// samples are exactly the stored ones: each block carries only its DC
// coefficient, with a quantization step of 1. Every component has
// sampling factors 1×1. The writer covers what image/jpeg's encoder does
// not: 3-component RGB, 4-component CMYK and YCCK, Adobe APP14 segments,
// progressive scans, one scan per component, and files with scans or the
// EOI marker left out.
type JPEG struct {
	Width, Height int

	// Samples returns the stored sample of component c (0-based) for the
	// block whose top-left pixel is (x, y).
	Samples func(c, x, y int) uint8

	// Components is 1, 3 or 4. IDs are the component ids; nil means 1, 2,
	// 3, 4.
	Components int
	IDs        []byte

	// JFIF writes an APP0 JFIF segment. Adobe, when not negative, writes an
	// Adobe APP14 segment with that colour transform (0: none, 1: YCbCr,
	// 2: YCCK); -1 writes none.
	JFIF  bool
	Adobe int

	// Progressive writes SOF2 with a DC scan of all components and one AC
	// scan per component. Otherwise the frame is baseline (SOF0) with one
	// interleaved scan, or one scan per component when Separate is set.
	Progressive bool
	Separate    bool

	// DropScans leaves out that many scans at the end; OmitEOI leaves out
	// the EOI marker.
	DropScans int
	OmitEOI   bool

	// Segments are written as they are after the SOI marker and the APP0
	// and APP14 segments: APP1 EXIF, APP2 ICC_PROFILE, or a frame marker
	// of another process.
	Segments [][]byte
}

// Standard DC luminance Huffman table (ITU T.81 Table K.3).
var (
	dcBits = [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1}
	dcVals = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	// dcCodes[cat] and dcLens[cat] are the codes the table above defines.
	dcCodes = [12]uint16{0b00, 0b010, 0b011, 0b100, 0b101, 0b110, 0b1110, 0b11110,
		0b111110, 0b1111110, 0b11111110, 0b111111110}
	dcLens = [12]uint8{2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9}
)

// Encode returns the JPEG file.
func (j JPEG) Encode() []byte {
	ids := j.IDs
	if ids == nil {
		ids = []byte{1, 2, 3, 4}[:j.Components]
	}
	out := []byte{0xff, 0xd8}
	if j.JFIF {
		out = append(out, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	}
	if j.Adobe >= 0 {
		out = append(out, 0xff, 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0,
			byte(j.Adobe))
	}
	for _, s := range j.Segments {
		out = append(out, s...)
	}

	// DQT: table 0, all steps 1.
	out = append(out, 0xff, 0xdb, 0, 67, 0)
	for range 64 {
		out = append(out, 1)
	}
	sof := byte(0xc0)
	if j.Progressive {
		sof = 0xc2
	}
	out = append(out, 0xff, sof)
	out = binary.BigEndian.AppendUint16(out, uint16(8+3*j.Components))
	out = append(out, 8)
	out = binary.BigEndian.AppendUint16(out, uint16(j.Height))
	out = binary.BigEndian.AppendUint16(out, uint16(j.Width))
	out = append(out, byte(j.Components))
	for _, id := range ids {
		out = append(out, id, 0x11, 0)
	}
	// DHT: the DC table as class 0 id 0; an AC table (class 1 id 0) whose
	// only code, "0", is symbol 0x00: end of block (EOB, or EOBRUN of one
	// block in a progressive AC scan).
	out = append(out, 0xff, 0xc4)
	out = binary.BigEndian.AppendUint16(out, uint16(2+17+len(dcVals)+17+1))
	out = append(out, 0x00)
	out = append(out, dcBits[:]...)
	out = append(out, dcVals...)
	out = append(out, 0x10, 1)
	out = append(out, make([]byte, 15)...)
	out = append(out, 0x00)

	scans := j.scans()
	for _, sc := range scans[:len(scans)-j.DropScans] {
		out = j.appendScan(out, ids, sc)
	}
	if !j.OmitEOI {
		out = append(out, 0xff, 0xd9)
	}
	return out
}

// scan is one SOS: the components it codes and its spectral band.
type scan struct {
	comps  []int
	ss, se int
}

func (j JPEG) scans() []scan {
	all := make([]int, j.Components)
	for c := range all {
		all[c] = c
	}
	switch {
	case j.Progressive:
		s := []scan{{comps: all, ss: 0, se: 0}}
		for c := range all {
			s = append(s, scan{comps: []int{c}, ss: 1, se: 63})
		}
		return s
	case j.Separate:
		var s []scan
		for c := range all {
			s = append(s, scan{comps: []int{c}, ss: 0, se: 63})
		}
		return s
	}
	return []scan{{comps: all, ss: 0, se: 63}}
}

func (j JPEG) appendScan(out, ids []byte, sc scan) []byte {
	out = append(out, 0xff, 0xda)
	out = binary.BigEndian.AppendUint16(out, uint16(6+2*len(sc.comps)))
	out = append(out, byte(len(sc.comps)))
	for _, c := range sc.comps {
		out = append(out, ids[c], 0x00)
	}
	out = append(out, byte(sc.ss), byte(sc.se), 0)

	var bw bitWriter
	bw.out = out
	pred := make([]int, j.Components)
	for by := 0; by < (j.Height+7)/8; by++ {
		for bx := 0; bx < (j.Width+7)/8; bx++ {
			for _, c := range sc.comps {
				if sc.ss == 0 {
					dc := 8 * (int(j.Samples(c, 8*bx, 8*by)) - 128)
					bw.writeDC(dc - pred[c])
					pred[c] = dc
				}
				if sc.se > 0 {
					bw.write(0, 1) // end of block
				}
			}
		}
	}
	return bw.flush()
}

// bitWriter writes entropy-coded data, most significant bit first, with a
// zero byte stuffed after each 0xff.
type bitWriter struct {
	out  []byte
	acc  uint32
	bits uint
}

func (w *bitWriter) write(code uint32, n uint) {
	w.acc = w.acc<<n | code&(1<<n-1)
	w.bits += n
	for w.bits >= 8 {
		b := byte(w.acc >> (w.bits - 8))
		w.out = append(w.out, b)
		if b == 0xff {
			w.out = append(w.out, 0)
		}
		w.bits -= 8
	}
}

// writeDC writes a DC difference: its size category's code, then the
// category's low bits of the difference (one less for negative values).
func (w *bitWriter) writeDC(diff int) {
	mag := diff
	if mag < 0 {
		mag = -mag
	}
	cat := 0
	for mag >= 1<<cat {
		cat++
	}
	w.write(uint32(dcCodes[cat]), uint(dcLens[cat]))
	if cat > 0 {
		v := diff
		if diff < 0 {
			v = diff + 1<<cat - 1
		}
		w.write(uint32(v), uint(cat))
	}
}

// flush pads the last byte with 1 bits and returns the output.
func (w *bitWriter) flush() []byte {
	if w.bits > 0 {
		w.write(1<<(8-w.bits)-1, 8-w.bits)
	}
	return w.out
}

// JPEGSegment returns a marker segment: 0xff, marker, the length and data.
func JPEGSegment(marker byte, data []byte) []byte {
	out := []byte{0xff, marker}
	out = binary.BigEndian.AppendUint16(out, uint16(len(data)+2))
	return append(out, data...)
}

// ICCSegments splits profile into APP2 ICC_PROFILE segments of at most
// piece bytes of profile each.
func ICCSegments(profile []byte, piece int) [][]byte {
	count := (len(profile) + piece - 1) / piece
	var segs [][]byte
	for seq := 1; len(profile) > 0; seq++ {
		p := profile[:min(piece, len(profile))]
		profile = profile[len(p):]
		data := append([]byte("ICC_PROFILE\x00"), byte(seq), byte(count))
		segs = append(segs, JPEGSegment(0xe2, append(data, p...)))
	}
	return segs
}

// ExifSegment returns an APP1 EXIF segment holding tiff.
func ExifSegment(tiff []byte) []byte {
	return JPEGSegment(0xe1, append([]byte("Exif\x00\x00"), tiff...))
}
