package imaging

import (
	"compress/lzw"
	"errors"
	"fmt"
	"io"
)

// image/gif allocates the first frame when it reads the frame's image
// descriptor, then fills it from the LZW data. When that data turns out
// short or corrupt it returns the error alone, and the part decoded so far
// stays in memory that the garbage collector frees without zeroing. So
// checkGIFFrame reads the first frame the way image/gif does from its
// image descriptor on, decoding the LZW data through a pooled buffer, and
// fails wherever image/gif would fail after its allocation. This decodes
// the LZW data twice, which is most of a GIF's decoding time, but GIF
// uploads are rare and small.
//
// The check follows image/gif of Go 1.26. TestCheckGIFFrameMatchesImageGIF
// compares the two on mutated files.

// Errors image/gif returns for the same faults, with the same text.
var (
	errGIFNoColorTable = errors.New("gif: no color table")
	errGIFNotEnough    = errors.New("gif: not enough image data")
	errGIFTooMuch      = errors.New("gif: too much image data")
	errGIFBadPixel     = errors.New("gif: invalid pixel value")
)

// checkGIFFrame returns the error image/gif would return after allocating
// the first frame of data, or nil when it would decode that frame whole.
// Where image/gif fails before it allocates, or where the blocks before
// the first image descriptor cannot be walked, it returns nil and leaves
// the error to image/gif.
func checkGIFFrame(data []byte) error {
	if len(data) < gifHeaderSize {
		return nil
	}
	globalColors := 0
	if flags := data[10]; flags&0x80 != 0 {
		globalColors = 1 << (1 + flags&7)
	}
	s := gifScan{data: data[gifHeaderSize:]}
	if !s.skip(3 * globalColors) {
		return nil
	}
	transparent := -1 // the transparent index of the last graphic control
	for {
		block, ok := s.byte()
		if !ok {
			return nil
		}
		switch block {
		case 0x21:
			if !s.skipExtension(&transparent) {
				return nil
			}
		case 0x2c:
			return checkGIFImage(&s, globalColors, transparent)
		default:
			return nil // the trailer or an unknown block: no frame is allocated
		}
	}
}

// checkGIFImage checks the first frame from its image descriptor on, as
// image/gif's readImageDescriptor reads it.
func checkGIFImage(s *gifScan, globalColors, transparent int) error {
	desc, ok := s.next(9)
	if !ok {
		return nil // image/gif fails before it allocates the frame
	}
	width := int(desc[4]) | int(desc[5])<<8
	height := int(desc[6]) | int(desc[7])<<8
	flags := desc[8]

	colors := globalColors
	if flags&0x80 != 0 {
		colors = 1 << (1 + flags&7)
		if !s.skip(3 * colors) {
			return fmt.Errorf("gif: reading color table: %s", io.ErrUnexpectedEOF)
		}
	} else if globalColors == 0 {
		return errGIFNoColorTable
	}
	if transparent >= colors {
		colors = transparent + 1 // image/gif adds transparent entries up to it
	}

	litWidth, ok := s.byte()
	if !ok {
		return fmt.Errorf("gif: reading image data: %v", io.ErrUnexpectedEOF)
	}
	if litWidth < 2 || litWidth > 8 {
		return fmt.Errorf("gif: pixel size in decode out of range: %d", litWidth)
	}
	br := &gifBlockReader{s: s}
	lzwr := lzw.NewReader(br, lzw.LSB, int(litWidth))
	defer lzwr.Close()
	if err := readGIFPixels(lzwr, width*height, colors); err != nil {
		return err
	}

	var tmp [1]byte
	if n, err := lzwr.Read(tmp[:]); n != 0 || (err != io.EOF && err != io.ErrUnexpectedEOF) {
		if err != nil {
			return fmt.Errorf("gif: reading image data: %v", err)
		}
		return errGIFTooMuch
	}
	return br.close()
}

// readGIFPixels reads n palette indexes from lzwr through a pooled buffer
// and checks that each is below colors.
func readGIFPixels(lzwr io.Reader, n, colors int) error {
	buf := getBytes(min(n, 32<<10))
	defer putBytes(buf)
	for n > 0 {
		chunk := buf[:min(n, len(buf))]
		if _, err := io.ReadFull(lzwr, chunk); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return errGIFNotEnough
			}
			return fmt.Errorf("gif: reading image data: %v", err)
		}
		if colors < 256 {
			for _, p := range chunk {
				if int(p) >= colors {
					return errGIFBadPixel
				}
			}
		}
		n -= len(chunk)
	}
	return nil
}

// gifScan reads the bytes of a GIF in order.
type gifScan struct {
	data []byte
}

// byte returns the next byte; ok is false at the end of the data.
func (s *gifScan) byte() (b byte, ok bool) {
	if len(s.data) == 0 {
		return 0, false
	}
	b, s.data = s.data[0], s.data[1:]
	return b, true
}

// next returns the next n bytes; ok is false when fewer are left, and then
// the rest is consumed, as io.ReadFull consumes it.
func (s *gifScan) next(n int) (b []byte, ok bool) {
	if len(s.data) < n {
		s.data = nil
		return nil, false
	}
	b, s.data = s.data[:n], s.data[n:]
	return b, true
}

func (s *gifScan) skip(n int) bool {
	_, ok := s.next(n)
	return ok
}

// skipExtension skips an extension block, after its 0x21, as image/gif's
// readExtension reads it, and records the transparent index of a graphic
// control extension. It returns false where image/gif would fail.
func (s *gifScan) skipExtension(transparent *int) bool {
	label, ok := s.byte()
	if !ok {
		return false
	}
	size := 0
	switch label {
	case 0x01: // plain text: its 13-byte header, then sub-blocks
		size = 13
	case 0xf9: // graphic control: exactly one 4-byte sub-block
		gc, ok := s.next(6)
		if !ok || gc[0] != 4 || gc[5] != 0 {
			return false
		}
		if gc[1]&1 != 0 {
			*transparent = int(gc[4])
		}
		return true
	case 0xfe: // comment: sub-blocks only
	case 0xff: // application: a block of its own size, then sub-blocks
		b, ok := s.byte()
		if !ok {
			return false
		}
		size = int(b)
	default:
		return false
	}
	head, ok := s.next(size)
	if !ok {
		return false
	}
	if label == 0xff && string(head) == "NETSCAPE2.0" {
		n, ok := s.byte()
		if !ok || !s.skip(int(n)) {
			return false
		}
		if n == 0 {
			return true
		}
	}
	for {
		n, ok := s.byte()
		if !ok || !s.skip(int(n)) {
			return false
		}
		if n == 0 {
			return true
		}
	}
}

// gifBlockReader reads the data sub-blocks of a frame as image/gif's
// blockReader does, with the same rules for the end of the data.
type gifBlockReader struct {
	s     *gifScan
	block []byte // the rest of the current sub-block
	err   error
}

func (b *gifBlockReader) fill() {
	if b.err != nil {
		return
	}
	n, ok := b.s.byte()
	switch {
	case !ok:
		b.err = io.ErrUnexpectedEOF
	case n == 0:
		b.err = io.EOF
	default:
		if b.block, ok = b.s.next(int(n)); !ok {
			b.err = io.ErrUnexpectedEOF
		}
	}
}

func (b *gifBlockReader) ReadByte() (byte, error) {
	if len(b.block) == 0 {
		b.fill()
		if b.err != nil {
			return 0, b.err
		}
	}
	c := b.block[0]
	b.block = b.block[1:]
	return c, nil
}

func (b *gifBlockReader) Read(p []byte) (int, error) {
	if len(p) == 0 || b.err != nil {
		return 0, b.err
	}
	if len(b.block) == 0 {
		b.fill()
		if b.err != nil {
			return 0, b.err
		}
	}
	n := copy(p, b.block)
	b.block = b.block[n:]
	return n, nil
}

// close checks the end of the sub-blocks after the LZW data: the block
// terminator, after at most the rest of the current sub-block or one more
// sub-block of a single byte, as image/gif allows.
func (b *gifBlockReader) close() error {
	if b.err == io.EOF {
		return nil
	} else if b.err != nil {
		return fmt.Errorf("gif: reading image data: %v", b.err)
	}
	if len(b.block) == 0 {
		b.fill()
		if b.err == io.EOF {
			return nil
		} else if b.err != nil {
			return fmt.Errorf("gif: reading image data: %v", b.err)
		} else if len(b.block) > 1 {
			return errGIFTooMuch
		}
	}
	b.fill()
	if b.err == io.EOF {
		return nil
	} else if b.err != nil {
		return fmt.Errorf("gif: reading image data: %v", b.err)
	}
	return errGIFTooMuch
}
