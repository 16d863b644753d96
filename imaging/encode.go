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

// pngLevel is the zlib level of the PNG encoders. Level 1 of
// klauspost/compress is several times faster than image/png at
// BestSpeed and compresses cut-outs a few percent worse; the filter
// choice below recovers most of that.
const pngLevel = zlib.BestSpeed

// jpegQuality is the quality of EncodeCutoutJPEG.
const jpegQuality = 90

var errMaskSize = errors.New("imaging: mask length does not match the image size")

// EncodeCutoutPNG writes img as an 8-bit RGBA PNG whose straight (not
// premultiplied) alpha is mask, len Width·Height. Only img's RGB is used;
// its own alpha has already capped the mask.
func EncodeCutoutPNG(w io.Writer, img *Image, mask []uint8) error {
	n := img.Width * img.Height
	if len(mask) < n {
		return errMaskSize
	}
	return writePNG(w, img.Width, img.Height, pngRGBA, func(y int, row []uint8) {
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
	return writePNG(w, width, height, pngGray, func(y int, row []uint8) {
		copy(row, mask[y*width:][:width])
	})
}

// EncodeCutoutJPEG composites img over bg with mask as alpha and writes a
// baseline JPEG of quality 90 (4:2:0). bg's alpha is ignored.
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
	rgba := &image.RGBA{Pix: pix, Stride: 4 * img.Width, Rect: image.Rect(0, 0, img.Width, img.Height)}
	return jpeg.Encode(w, rgba, &jpeg.Options{Quality: jpegQuality})
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

// writePNG writes an 8-bit PNG of the given colour; fill writes raw row y.
// Each row gets the filter (None, Sub, Up or Paeth) whose output has the
// smallest sum of absolute signed bytes, libpng's default heuristic.
func writePNG(w io.Writer, width, height int, c pngColor, fill func(y int, row []uint8)) error {
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

// filterRow returns the best filtered form of rb.cur, filter byte first.
func filterRow(rb *pngRowBuffers, bpp int, first bool) []uint8 {
	cur, prev := rb.cur, rb.prev
	if first {
		// Up and Paeth reduce to None and Sub on the first row.
		sub := rb.filtered[1]
		sub[0] = 1
		cost := filterSub(sub[1:], cur, bpp)
		none := rb.filtered[0]
		none[0] = 0
		copy(none[1:], cur)
		if cost < absSum(cur) {
			return sub
		}
		return none
	}

	best, bestCost := 0, -1
	costs := [4]int{
		absSum(cur),
		filterSub(rb.filtered[1][1:], cur, bpp),
		filterUp(rb.filtered[2][1:], cur, prev),
		filterPaeth(rb.filtered[3][1:], cur, prev, bpp),
	}
	for f, cost := range costs {
		if bestCost < 0 || cost < bestCost {
			best, bestCost = f, cost
		}
	}
	out := rb.filtered[best]
	out[0] = pngFilterTypes[best]
	if best == 0 {
		copy(out[1:], cur)
	}
	return out
}

// absSum is the heuristic cost: the sum of bytes read as signed values.
func absSum(b []uint8) int {
	s := 0
	for _, v := range b {
		s += int(absByte(v))
	}
	return s
}

func absByte(v uint8) uint8 {
	if v >= 128 {
		return -v
	}
	return v
}

func filterSub(dst, cur []uint8, bpp int) int {
	s := 0
	copy(dst[:bpp], cur[:bpp])
	for i := 0; i < bpp; i++ {
		s += int(absByte(cur[i]))
	}
	d := dst[bpp:len(cur)]
	for i := range d {
		v := cur[bpp+i] - cur[i]
		d[i] = v
		s += int(absByte(v))
	}
	return s
}

func filterUp(dst, cur, prev []uint8) int {
	s := 0
	dst = dst[:len(cur)]
	prev = prev[:len(cur)]
	for i, c := range cur {
		v := c - prev[i]
		dst[i] = v
		s += int(absByte(v))
	}
	return s
}

func filterPaeth(dst, cur, prev []uint8, bpp int) int {
	s := 0
	dst = dst[:len(cur)]
	prev = prev[:len(cur)]
	for i := 0; i < bpp; i++ {
		v := cur[i] - prev[i] // the left and upper-left neighbours are 0
		dst[i] = v
		s += int(absByte(v))
	}
	for i := bpp; i < len(cur); i++ {
		v := cur[i] - paeth(cur[i-bpp], prev[i], prev[i-bpp])
		dst[i] = v
		s += int(absByte(v))
	}
	return s
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
