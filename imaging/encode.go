package imaging

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// pngLevel is the zlib level of the PNG encoders. With the sampled filter
// choice below, level 1 of klauspost/compress encodes a 12 MP cut-out
// about 3 times faster than image/png at BestSpeed, at a similar size
// (BenchmarkEncodePNG).
const pngLevel = zlib.BestSpeed

// jpegQuality is the quality of EncodeCutoutJPEG.
const jpegQuality = 90

var errMaskSize = errors.New("imaging: mask length does not match the image size")

// EncodeCutoutPNG writes img as an 8-bit RGBA PNG whose straight (not
// premultiplied) alpha is mask, len Width·Height. Only img's RGB and ICC
// profile are used; its own alpha has already capped the mask. The profile,
// when there is one, goes into an iCCP chunk unchanged. No orientation tag
// is written: the pixels are already in displayed order.
func EncodeCutoutPNG(w io.Writer, img *Image, mask []uint8) error {
	n := img.Width * img.Height
	if len(mask) < n {
		return errMaskSize
	}
	return writePNG(w, img.Width, img.Height, pngRGBA, img.ICC, func(y int, row []uint8) {
		rgb := img.rgbRow(y, 0, img.Width)
		a := mask[y*img.Width:][:img.Width]
		for x, v := range a {
			row[4*x] = rgb[3*x]
			row[4*x+1] = rgb[3*x+1]
			row[4*x+2] = rgb[3*x+2]
			row[4*x+3] = v
		}
	})
}

// EncodeMaskPNG writes mask (width·height bytes, row-major) as an 8-bit
// grayscale PNG.
func EncodeMaskPNG(w io.Writer, mask []uint8, width, height int) error {
	if len(mask) < width*height {
		return errMaskSize
	}
	return writePNG(w, width, height, pngGray, nil, func(y int, row []uint8) {
		copy(row, mask[y*width:][:width])
	})
}

// EncodeCutoutJPEG composites img over bg with mask as alpha and writes a
// baseline JPEG of quality 90 (4:2:0), with img's ICC profile in APP2
// segments when it has one. bg's alpha is ignored.
func EncodeCutoutJPEG(w io.Writer, img *Image, mask []uint8, bg color.RGBA) error {
	n := img.Width * img.Height
	if len(mask) < n {
		return errMaskSize
	}
	pix := getBytes(4 * n)
	defer putBytes(pix)
	bgc := [3]uint32{uint32(bg.R), uint32(bg.G), uint32(bg.B)}
	for i, a := range mask[:n] {
		p := pix[4*i:][:4]
		c := img.RGB[3*i:][:3]
		av := uint32(a)
		for k := range 3 {
			p[k] = uint8((uint32(c[k])*av + bgc[k]*(255-av) + 127) / 255)
		}
		p[3] = 0xff
	}
	rgba := &image.RGBA{Pix: pix, Stride: 4 * img.Width,
		Rect: image.Rect(0, 0, img.Width, img.Height)}
	if img.ICC == nil {
		return jpeg.Encode(w, rgba, &jpeg.Options{Quality: jpegQuality})
	}
	return jpeg.Encode(&iccInserter{w: w, segments: jpegICCSegments(img.ICC)}, rgba,
		&jpeg.Options{Quality: jpegQuality})
}

// iccInserter passes a JPEG stream through and writes the APP2 segments
// of an ICC profile right after the SOI marker, which image/jpeg writes as
// its first two bytes.
type iccInserter struct {
	w        io.Writer
	segments []byte
	seen     int // bytes of the stream passed through so far, up to 2
}

func (ins *iccInserter) Write(p []byte) (int, error) {
	if ins.seen >= 2 {
		return ins.w.Write(p)
	}
	k := min(2-ins.seen, len(p))
	if _, err := ins.w.Write(p[:k]); err != nil {
		return 0, err
	}
	ins.seen += k
	if ins.seen == 2 && len(ins.segments) > 0 {
		if _, err := ins.w.Write(ins.segments); err != nil {
			return k, err
		}
	}
	n, err := ins.w.Write(p[k:])
	return k + n, err
}

// PNG colour types with their bytes per pixel.
type pngColor struct {
	colorType byte
	bpp       int
}

var (
	pngGray = pngColor{colorType: 0, bpp: 1}
	pngRGBA = pngColor{colorType: 6, bpp: 4}
)

// zlibWriters pools compressors, which are costly to set up.
// TODO: a pooled compressor's window keeps bytes of the last image it
// encoded until its next use; klauspost/compress offers no way to wipe it.
var zlibWriters = sync.Pool{New: func() any {
	z, err := zlib.NewWriterLevel(io.Discard, pngLevel)
	if err != nil {
		panic(err) // the level is a valid constant
	}
	return z
}}

// pngRowBuffers holds the raw row, the previous raw row and one filtered
// candidate per filter type, each with the filter byte in front.
type pngRowBuffers struct {
	cur, prev []uint8
	filtered  [4][]uint8
}

// writePNG writes an 8-bit PNG of the given colour, with an iCCP chunk for
// a non-nil icc; fill writes raw row y.
// Each row gets the filter (None, Sub, Up or Paeth) whose output has the
// smallest sum of absolute signed bytes, libpng's default heuristic.
func writePNG(w io.Writer, width, height int, c pngColor, icc []byte,
	fill func(y int, row []uint8)) error {
	if width <= 0 || height <= 0 || width > 1<<31-1 || height > 1<<31-1 {
		return fmt.Errorf("imaging: invalid PNG size %d×%d", width, height)
	}
	var hdr [13]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(width))
	binary.BigEndian.PutUint32(hdr[4:], uint32(height))
	hdr[8], hdr[9] = 8, c.colorType // bit depth 8; compression, filter, interlace 0
	if _, err := io.WriteString(w, "\x89PNG\r\n\x1a\n"); err != nil {
		return err
	}
	if err := writeChunk(w, "IHDR", hdr[:]); err != nil {
		return err
	}
	if icc != nil {
		if err := writePNGICC(w, icc); err != nil {
			return err
		}
	}

	idat := &chunkWriter{w: w, buf: getBytes(64 << 10)[:0]}
	defer putBytes(idat.buf)
	z := zlibWriters.Get().(*zlib.Writer)
	z.Reset(idat)
	defer zlibWriters.Put(z)

	rowLen := width * c.bpp
	scratch := getBytes(6 * (rowLen + 1))
	defer putBytes(scratch)
	var rb pngRowBuffers
	rb.cur = scratch[1 : rowLen+1]
	rb.prev = scratch[rowLen+2 : 2*rowLen+2]
	for f := range rb.filtered {
		rb.filtered[f] = scratch[(f+2)*(rowLen+1):][:rowLen+1]
	}

	for y := 0; y < height; y++ {
		fill(y, rb.cur)
		if _, err := z.Write(filterRow(&rb, c.bpp, y == 0)); err != nil {
			return err
		}
		rb.cur, rb.prev = rb.prev, rb.cur
	}
	if err := z.Close(); err != nil {
		return err
	}
	if err := idat.flush(); err != nil {
		return err
	}
	return writeChunk(w, "IEND", nil)
}

// pngFilterTypes maps the candidates of pngRowBuffers.filtered (None, Sub,
// Up, Paeth) to their PNG filter type bytes; type 3 is Average, unused here.
var pngFilterTypes = [4]byte{0, 1, 2, 4}

// filterSample is the stride of the bytes on which filterRow estimates
// each filter's cost; 7 is prime to 1, 3 and 4 byte pixels, so the sample
// covers every channel. Estimating on a seventh of the row and filtering
// once costs about a third of filtering four times, and picks the same
// filter for most rows of photos.
const filterSample = 7

// filterRow returns the filtered form of rb.cur with the filter byte in
// front. The filter (None, Sub, Up or Paeth) is the one with the smallest
// sum of absolute signed bytes on a sample of the row, libpng's heuristic.
func filterRow(rb *pngRowBuffers, bpp int, first bool) []uint8 {
	cur, prev := rb.cur, rb.prev
	var costs [4]int
	for i := bpp; i < len(cur); i += filterSample {
		a, c := cur[i-bpp], uint8(0)
		var b uint8
		if !first {
			b, c = prev[i], prev[i-bpp]
		}
		x := cur[i]
		costs[0] += int(absByte(x))
		costs[1] += int(absByte(x - a))
		costs[2] += int(absByte(x - b))
		costs[3] += int(absByte(x - paeth(a, b, c)))
	}
	best := 0
	for f := 1; f < len(costs); f++ {
		if costs[f] < costs[best] {
			best = f
		}
	}

	out := rb.filtered[best]
	out[0] = pngFilterTypes[best]
	switch {
	case best == 0:
		copy(out[1:], cur)
	case best == 1:
		filterSub(out[1:], cur, bpp)
	case first: // Up is None and Paeth is Sub on the first row
		out[0] = byte(best - 2)
		if best == 2 {
			copy(out[1:], cur)
		} else {
			filterSub(out[1:], cur, bpp)
		}
	case best == 2:
		filterUp(out[1:], cur, prev)
	default:
		filterPaeth(out[1:], cur, prev, bpp)
	}
	return out
}

func absByte(v uint8) uint8 {
	if v >= 128 {
		return -v
	}
	return v
}

func filterSub(dst, cur []uint8, bpp int) {
	copy(dst[:bpp], cur[:bpp])
	d := dst[bpp:len(cur)]
	for i := range d {
		d[i] = cur[bpp+i] - cur[i]
	}
}

func filterUp(dst, cur, prev []uint8) {
	dst = dst[:len(cur)]
	prev = prev[:len(cur)]
	for i, c := range cur {
		dst[i] = c - prev[i]
	}
}

func filterPaeth(dst, cur, prev []uint8, bpp int) {
	dst = dst[:len(cur)]
	prev = prev[:len(cur)]
	for i := 0; i < bpp; i++ {
		dst[i] = cur[i] - prev[i] // the left and upper-left neighbours are 0
	}
	for i := bpp; i < len(cur); i++ {
		dst[i] = cur[i] - paeth(cur[i-bpp], prev[i], prev[i-bpp])
	}
}

// paeth is the PNG Paeth predictor of left a, above b and upper-left c.
func paeth(a, b, c uint8) uint8 {
	pc := int(c)
	pa := int(b) - pc
	pb := int(a) - pc
	pcd := pa + pb
	if pa < 0 {
		pa = -pa
	}
	if pb < 0 {
		pb = -pb
	}
	if pcd < 0 {
		pcd = -pcd
	}
	if pa <= pb && pa <= pcd {
		return a
	}
	if pb <= pcd {
		return b
	}
	return c
}

// chunkWriter buffers zlib output into IDAT chunks.
type chunkWriter struct {
	w   io.Writer
	buf []uint8
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := writeChunk(c.w, "IDAT", c.buf)
	c.buf = c.buf[:0]
	return err
}

func writeChunk(w io.Writer, typ string, data []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	var tail [4]byte
	binary.BigEndian.PutUint32(tail[:], crc.Sum32())
	for _, b := range [][]byte{hdr[:], data, tail[:]} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
