package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"

	"golang.org/x/image/webp"
)

// Animated WebP: golang.org/x/image/webp decodes still images only, so the
// first ANMF frame is rewrapped as a still WebP (its ALPH, VP8 or VP8L
// chunks behind a VP8X header of the frame's size), decoded, and placed at
// its offset on a transparent canvas of the VP8X size. The ANIM background
// colour is a hint that the WebP specification lets decoders ignore;
// libwebp's demuxing decoder and this package both start from transparent.

// webpAnimationFlag is the animation bit of the VP8X flags byte.
const webpAnimationFlag = 1 << 1

var (
	errNoWebPFrame     = errors.New("animated WebP has no decodable first frame")
	errWebPFrameBounds = errors.New("animated WebP frame reaches past the canvas")
)

// webpAnimated reports whether data is an extended WebP with the
// animation flag set.
func webpAnimated(data []byte) bool {
	vp8x := webpChunk(data, "VP8X")
	return len(vp8x) >= 10 && vp8x[0]&webpAnimationFlag != 0
}

// webpFrame is the first frame of an animated WebP: its rectangle on the
// canvas and the still WebP file rebuilt from its chunks (pooled).
type webpFrame struct {
	rect image.Rectangle
	file []byte
}

// firstWebPFrame finds the first ANMF chunk and rebuilds its image as a
// still WebP file.
func firstWebPFrame(data []byte) (webpFrame, error) {
	anmf := webpChunk(data, "ANMF")
	if len(anmf) < 16 {
		return webpFrame{}, errNoWebPFrame
	}
	u24 := func(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }
	x, y := 2*u24(anmf[0:]), 2*u24(anmf[3:])
	w, h := u24(anmf[6:])+1, u24(anmf[9:])+1

	var alph, bitstream []byte
	var bitstreamType string
	for i := 16; i+8 <= len(anmf); {
		n := int64(binary.LittleEndian.Uint32(anmf[i+4:]))
		end := int64(i) + 8 + n
		if end > int64(len(anmf)) {
			return webpFrame{}, errNoWebPFrame
		}
		typ := string(anmf[i : i+4])
		body := anmf[i:int(end)] // with the chunk header
		switch {
		case typ == "ALPH" && alph == nil:
			alph = body
		case (typ == "VP8 " || typ == "VP8L") && bitstream == nil:
			bitstream, bitstreamType = body, typ
		}
		i = int(end + end&1)
	}
	if bitstream == nil {
		return webpFrame{}, errNoWebPFrame
	}

	// A VP8L bitstream carries its own alpha; a VP8 one with an ALPH chunk
	// needs the VP8X header that announces alpha.
	size := 4 + len(bitstream) + len(bitstream)&1
	withVP8X := alph != nil && bitstreamType == "VP8 "
	if withVP8X {
		size += 18 + len(alph) + len(alph)&1
	}
	file := getBytes(8 + size)[:0]
	file = append(file, "RIFF"...)
	file = binary.LittleEndian.AppendUint32(file, uint32(size))
	file = append(file, "WEBP"...)
	if withVP8X {
		file = append(file, "VP8X"...)
		file = binary.LittleEndian.AppendUint32(file, 10)
		file = append(file, 1<<4, 0, 0, 0) // the alpha flag
		file = append(file, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
		file = append(file, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
		file = appendPadded(file, alph)
	}
	file = appendPadded(file, bitstream)
	return webpFrame{rect: image.Rect(x, y, x+w, y+h), file: file}, nil
}

func appendPadded(dst, chunk []byte) []byte {
	dst = append(dst, chunk...)
	if len(chunk)&1 == 1 {
		dst = append(dst, 0)
	}
	return dst
}

// decodeWebPFirstFrame decodes the first frame of an animated WebP onto a
// transparent canvas of cfg's size, stored in *out as soon as it exists. A
// frame that reaches past the canvas is an error, as in libwebp's demuxer;
// this also keeps the frame within the pixel limit checked on the canvas.
func decodeWebPFirstFrame(data []byte, cfg image.Config, out **Image) error {
	frame, err := firstWebPFrame(data)
	if err != nil {
		return err
	}
	defer putBytes(frame.file)
	if !frame.rect.In(image.Rect(0, 0, cfg.Width, cfg.Height)) {
		return errWebPFrameBounds
	}
	fcfg, err := webp.DecodeConfig(bytes.NewReader(frame.file))
	if err != nil {
		return err
	}
	if fcfg.Width != frame.rect.Dx() || fcfg.Height != frame.rect.Dy() {
		return errNoWebPFrame
	}
	src, err := webp.Decode(bytes.NewReader(frame.file))
	if err != nil {
		return err
	}
	var part *Image
	defer func() { part.Release() }()
	if err := fromImage(src, fcfg, FormatWebP, &part); err != nil {
		return err
	}

	canvas := &Image{Width: cfg.Width, Height: cfg.Height, pooled: true,
		RGB: getBytes(3 * cfg.Width * cfg.Height), Alpha: getBytes(cfg.Width * cfg.Height)}
	*out = canvas
	place(canvas, part, frame.rect.Min)
	if opaque(canvas.Alpha) {
		putBytes(canvas.Alpha)
		canvas.Alpha = nil
	}
	return nil
}

// place copies src into dst with its top-left corner at at, clipped to
// dst. dst.Alpha must be set; src without alpha is opaque.
func place(dst, src *Image, at image.Point) {
	r := image.Rect(at.X, at.Y, at.X+src.Width, at.Y+src.Height).
		Intersect(image.Rect(0, 0, dst.Width, dst.Height))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		sy, sx := y-at.Y, r.Min.X-at.X
		copy(dst.rgbRow(y, r.Min.X, r.Dx()), src.rgbRow(sy, sx, r.Dx()))
		a := dst.Alpha[y*dst.Width+r.Min.X:][:r.Dx()]
		if src.Alpha == nil {
			fill(a, 0xff)
		} else {
			copy(a, src.Alpha[sy*src.Width+sx:][:r.Dx()])
		}
	}
}
