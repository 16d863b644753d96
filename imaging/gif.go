package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// GIF frames that reach past the logical screen: the GIF specification
// says each image must fit within the logical screen, and image/gif
// rejects frames that do not. Browsers and libvips's GIF loader (libnsgif)
// show such files by growing the screen to the frame, and so does this
// package: the canvas is the union of the logical screen and the first
// frame, decided from the headers before any pixel buffer exists. Only the
// first frame of an animated GIF is decoded.

// gifHeaderSize is the size of the signature and the logical screen
// descriptor.
const gifHeaderSize = 13

var errGIFScreen = errors.New("first GIF frame reaches past the largest logical screen")

// gifCanvas returns the size of the canvas for the first frame: the
// logical screen grown to hold the frame. ok is false when the headers
// cannot be walked to the first image descriptor; image/gif then reports
// the error.
func gifCanvas(data []byte) (w, h int, ok bool) {
	if len(data) < gifHeaderSize {
		return 0, 0, false
	}
	w = int(binary.LittleEndian.Uint16(data[6:]))
	h = int(binary.LittleEndian.Uint16(data[8:]))
	i := gifHeaderSize
	if flags := data[10]; flags&0x80 != 0 {
		i += 3 << (flags&7 + 1) // the global colour table
	}
	for i < len(data) {
		switch data[i] {
		case 0x21: // extension: label, then data sub-blocks
			i += 2
			for i < len(data) && data[i] != 0 {
				i += 1 + int(data[i])
			}
			i++
		case 0x2c: // image descriptor: left, top, width, height
			if i+9 > len(data) {
				return 0, 0, false
			}
			left := int(binary.LittleEndian.Uint16(data[i+1:]))
			top := int(binary.LittleEndian.Uint16(data[i+3:]))
			fw := int(binary.LittleEndian.Uint16(data[i+5:]))
			fh := int(binary.LittleEndian.Uint16(data[i+7:]))
			return max(w, left+fw), max(h, top+fh), true
		default: // the trailer or a corrupt block
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// gifReader returns a reader of data whose logical screen is w×h, so that
// image/gif accepts a first frame that reaches past the stored screen.
func gifReader(data []byte, w, h int) (io.Reader, error) {
	sw := int(binary.LittleEndian.Uint16(data[6:]))
	sh := int(binary.LittleEndian.Uint16(data[8:]))
	if sw == w && sh == h {
		return bytes.NewReader(data), nil
	}
	if w > 0xffff || h > 0xffff {
		return nil, errGIFScreen
	}
	hdr := make([]byte, gifHeaderSize)
	copy(hdr, data)
	binary.LittleEndian.PutUint16(hdr[6:], uint16(w))
	binary.LittleEndian.PutUint16(hdr[8:], uint16(h))
	return io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(data[gifHeaderSize:])), nil
}
