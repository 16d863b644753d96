package imagingtest

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"math/rand/v2"
)

// ExifOrientation returns a big-endian TIFF structure (the layout of EXIF
// data, without the "Exif\0\0" prefix of JPEG) whose IFD0 holds only the
// orientation tag.
func ExifOrientation(orientation int) []byte {
	b := []byte("MM\x00*\x00\x00\x00\x08")  // header, IFD0 at offset 8
	b = binary.BigEndian.AppendUint16(b, 1) // one entry
	b = binary.BigEndian.AppendUint16(b, 0x0112)
	b = binary.BigEndian.AppendUint16(b, 3) // SHORT
	b = binary.BigEndian.AppendUint32(b, 1) // one value
	b = binary.BigEndian.AppendUint16(b, uint16(orientation))
	b = append(b, 0, 0)                        // the value field's unused half
	return binary.BigEndian.AppendUint32(b, 0) // no next IFD
}

// ICCProfile returns a syntactically valid ICC profile header of n bytes
// (at least 128) for colour space space ("RGB ", "GRAY" or "CMYK"),
// followed by a pattern that differs by seed. It is no usable colour
// transform, which the code under test never applies.
func ICCProfile(n int, space string, seed byte) []byte {
	p := make([]byte, n)
	binary.BigEndian.PutUint32(p, uint32(n))
	copy(p[4:], "test")
	p[8] = 4 // version 4.3
	p[9] = 0x30
	copy(p[12:], "mntr")
	copy(p[16:], space)
	copy(p[20:], "XYZ ")
	copy(p[36:], "acsp")
	for i := 128; i < n; i++ {
		p[i] = byte(i) ^ seed
	}
	return p
}

// GIF encodes frames with image/gif on a screen of w×h, then rewrites the
// logical screen descriptor to sw×sh, which lets a frame reach past the
// stored screen (the standard encoder refuses that).
func GIF(w, h, sw, sh int, frames ...*image.Paletted) []byte {
	g := &gif.GIF{Config: image.Config{ColorModel: frames[0].Palette, Width: w, Height: h}}
	for _, f := range frames {
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		panic(err) // the frames are the caller's constants
	}
	out := buf.Bytes()
	binary.LittleEndian.PutUint16(out[6:], uint16(sw))
	binary.LittleEndian.PutUint16(out[8:], uint16(sh))
	return out
}

// FlatFrame returns a paletted frame covering r in the single colour c,
// with a transparent entry 0 in its palette.
func FlatFrame(r image.Rectangle, c color.RGBA) *image.Paletted {
	m := image.NewPaletted(r, color.Palette{color.RGBA{}, c})
	for i := range m.Pix {
		m.Pix[i] = 1
	}
	return m
}

// AnimatedWebP wraps the image chunks of a still WebP file (its ALPH, VP8
// and VP8L chunks) into an animated WebP with a canvas of w×h: the first
// frame at (x, y) (even numbers), then a second frame of the same chunks
// at the origin.
func AnimatedWebP(still []byte, w, h, x, y int) []byte {
	var frameW, frameH int
	var body []byte
	for i := 12; i+8 <= len(still); {
		n := int(binary.LittleEndian.Uint32(still[i+4:]))
		chunk := still[i : i+8+n+n&1]
		switch string(still[i : i+4]) {
		case "VP8X":
			frameW = 1 + (int(chunk[12]) | int(chunk[13])<<8 | int(chunk[14])<<16)
			frameH = 1 + (int(chunk[15]) | int(chunk[16])<<8 | int(chunk[17])<<16)
		case "ALPH":
			body = append(body, chunk...)
		case "VP8 ":
			body = append(body, chunk...)
			if frameW == 0 { // a simple file: the size is in the frame header
				frameW = int(binary.LittleEndian.Uint16(chunk[14:]) & 0x3fff)
				frameH = int(binary.LittleEndian.Uint16(chunk[16:]) & 0x3fff)
			}
		case "VP8L":
			body = append(body, chunk...)
			if frameW == 0 {
				bits := binary.LittleEndian.Uint32(chunk[9:])
				frameW, frameH = int(bits&0x3fff)+1, int(bits>>14&0x3fff)+1
			}
		}
		i += 8 + n + n&1
	}

	u24 := func(b []byte, v int) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16)) }
	anmf := func(fx, fy int) []byte {
		hdr := u24(nil, fx/2)
		hdr = u24(hdr, fy/2)
		hdr = u24(hdr, frameW-1)
		hdr = u24(hdr, frameH-1)
		hdr = u24(hdr, 100) // duration, ms
		hdr = append(hdr, 0)
		return riffChunk("ANMF", append(hdr, body...))
	}
	vp8x := []byte{1<<4 | 1<<1, 0, 0, 0} // alpha and animation flags
	vp8x = u24(vp8x, w-1)
	vp8x = u24(vp8x, h-1)
	payload := append([]byte("WEBP"), riffChunk("VP8X", vp8x)...)
	payload = append(payload, riffChunk("ANIM", []byte{0, 0, 0, 0, 0, 0})...)
	payload = append(payload, anmf(x, y)...)
	payload = append(payload, anmf(0, 0)...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))...)
	return append(out, payload...)
}

func riffChunk(fourcc string, data []byte) []byte {
	out := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	out = append(out, data...)
	if len(data)&1 == 1 {
		out = append(out, 0)
	}
	return out
}

// Mutate returns a copy of data with a few random edits of the kinds that
// break decoders: flipped bits, overwritten bytes, a truncation, a cut out
// or duplicated span, and runs of 0x00 or 0xff.
func Mutate(data []byte, rng *rand.Rand) []byte {
	out := append([]byte(nil), data...)
	for range 1 + rng.IntN(4) {
		if len(out) < 2 {
			break
		}
		i := rng.IntN(len(out))
		switch rng.IntN(6) {
		case 0:
			out[i] ^= 1 << rng.IntN(8)
		case 1:
			out[i] = byte(rng.IntN(256))
		case 2:
			out = out[:i]
		case 3:
			j := min(len(out), i+1+rng.IntN(64))
			out = append(out[:i], out[j:]...)
		case 4:
			j := min(len(out), i+1+rng.IntN(64))
			span := append([]byte(nil), out[i:j]...)
			out = append(out[:j], append(span, out[j:]...)...)
		case 5:
			v := byte(0)
			if rng.IntN(2) == 0 {
				v = 0xff
			}
			for k := i; k < min(len(out), i+1+rng.IntN(16)); k++ {
				out[k] = v
			}
		}
	}
	return out
}
