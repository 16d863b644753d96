package imaging

import (
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"image/png"
	"io"
)

// image/png allocates the whole picture when it reaches the first IDAT
// chunk and fills it row by row as it inflates the data. When the data then
// turns out short or corrupt, or a later chunk is, it returns the error
// alone, and the rows decoded so far stay in memory that the garbage
// collector frees without zeroing.
//
// So storedPNG reads the file the way image/png does from the first IDAT
// chunk on, and fails wherever image/png would fail after its allocation.
// It inflates the image data into a pooled copy of the file that stores
// the data in deflate's uncompressed blocks, and Decode passes that copy to
// image/png. A PNG is then either decoded whole or rejected before any
// buffer of its size exists outside the pool. image/png's inflate becomes a
// plain copy, so the whole decode takes only a few percent longer (about
// 4% for a 12 MP RGB photo in one run of BenchmarkDecodePhoto), at the
// cost of a pooled buffer of the image data's size.
//
// The check follows image/png of Go 1.26. The IDAT chunks are read through
// compress/zlib in the same way, so the same trailing bytes count as "too
// much pixel data". TestStoredPNGMatchesImagePNG compares the two on
// mutated files.

// Errors image/png returns for the same faults, with the same text.
var (
	errPNGNotEnoughPixels = png.FormatError("not enough pixel data")
	errPNGTooMuchPixels   = png.FormatError("too much pixel data")
	errPNGBadFilter       = png.FormatError("bad filter type")
	errPNGChecksum        = png.FormatError("invalid checksum")
	errPNGChunkOrder      = png.FormatError("chunk out of order")
	errPNGIENDLength      = png.FormatError("bad IEND length")
)

// pngHeader is the part of the IHDR chunk that storedPNG uses.
type pngHeader struct {
	width, height int
	bitsPerPixel  int
	interlaced    bool
}

// pngPass is a pass over the image: the first column and row it covers and
// the steps between them.
type pngPass struct{ x, y, dx, dy int }

var (
	pngPlain = []pngPass{{0, 0, 1, 1}}
	pngAdam7 = []pngPass{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4},
		{1, 0, 2, 2}, {0, 1, 1, 2}}
)

// storedPNG returns the error image/png would return after allocating the
// picture of data. When image/png would decode data whole, it returns a
// copy of data in a pooled buffer instead, which the caller returns with
// putBytes. The copy contains the chunks before the first IDAT chunk, the
// image data stored uncompressed in IDAT chunks, and IEND.
//
// data must have passed png.DecodeConfig. When the chunks before the first
// IDAT chunk cannot be walked, storedPNG returns neither copy nor error:
// image/png then fails on them before it allocates.
func storedPNG(data []byte) ([]byte, error) {
	hdr, idat, ok := findIDAT(data)
	if !ok {
		return nil, nil
	}
	r := &idatReader{data: data[idat+8:], crc: crc32.NewIEEE()}
	r.left = binary.BigEndian.Uint32(data[idat:])
	r.crc.Write(data[idat+4 : idat+8])
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, err // image/png fails here too, before it allocates
	}
	defer zr.Close()

	rows := pngRows(hdr)
	var raw int64
	for _, s := range rows {
		raw += int64(s.size) * int64(s.count)
	}
	blocks := (raw + storedBlock - 1) / storedBlock
	out := getBytes(idat + int(raw+blocks*storedOverhead+2+4) + len(pngIEND))
	copy(out, data[:idat])
	if err := storeRows(zr, rows, raw, out[idat:]); err != nil {
		putBytes(out)
		return nil, err
	}
	if err := checkPNGEnd(zr, r); err != nil {
		putBytes(out)
		return nil, err
	}
	return out, nil
}

// checkPNGEnd checks what follows the image data: the end of the zlib
// stream with its checksum, the end of the IDAT chunk with it, and the
// chunks up to IEND.
func checkPNGEnd(zr io.Reader, r *idatReader) error {
	var tmp [1]byte
	n := 0
	var err error
	for i := 0; n == 0 && err == nil; i++ {
		if i == 100 {
			return io.ErrNoProgress
		}
		n, err = zr.Read(tmp[:])
	}
	if err != nil && err != io.EOF {
		return png.FormatError(err.Error())
	}
	if n != 0 || r.left != 0 {
		return errPNGTooMuchPixels
	}
	if err := r.checkCRC(); err != nil {
		return err
	}
	return checkPNGTrailer(r.data)
}

// findIDAT walks the chunks of data to the first IDAT chunk and returns
// the header read from IHDR and the IDAT chunk's offset. ok is false when
// either is missing or the walk runs past the data.
func findIDAT(data []byte) (hdr pngHeader, idat int, ok bool) {
	seenIHDR := false
	for i := 8; i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		if typ == "IDAT" {
			return hdr, i, seenIHDR
		}
		if int64(i)+12+n > int64(len(data)) {
			break
		}
		if typ == "IHDR" && n == 13 && !seenIHDR {
			hdr, seenIHDR = readPNGHeader(data[i+8 : i+8+13])
		}
		i += 12 + int(n)
	}
	return pngHeader{}, 0, false
}

// readPNGHeader reads the 13 bytes of an IHDR chunk. ok is false for a
// colour type and depth that image/png rejects.
func readPNGHeader(b []byte) (hdr pngHeader, ok bool) {
	hdr.width = int(binary.BigEndian.Uint32(b[0:]))
	hdr.height = int(binary.BigEndian.Uint32(b[4:]))
	depth, colorType := int(b[8]), int(b[9])
	hdr.interlaced = b[12] == 1
	var channels int
	switch colorType {
	case 0, 3: // gray, palette indexes
		channels = 1
	case 4: // gray and alpha
		channels = 2
	case 2: // RGB
		channels = 3
	case 6: // RGBA
		channels = 4
	default:
		return pngHeader{}, false
	}
	switch {
	case depth == 8, depth == 16 && colorType != 3:
	case depth == 1 || depth == 2 || depth == 4:
		if colorType != 0 && colorType != 3 {
			return pngHeader{}, false
		}
	default:
		return pngHeader{}, false
	}
	hdr.bitsPerPixel = channels * depth
	return hdr, hdr.width > 0 && hdr.height > 0
}

// pngRowRun is a run of count filtered rows of size bytes each, the
// filter type byte included.
type pngRowRun struct{ size, count int }

// pngRows returns the rows of the image data in order: one run per pass
// that has pixels. An empty pass has no rows, not even filter bytes.
func pngRows(hdr pngHeader) []pngRowRun {
	passes := pngPlain
	if hdr.interlaced {
		passes = pngAdam7
	}
	var runs []pngRowRun
	for _, p := range passes {
		w := (hdr.width - p.x + p.dx - 1) / p.dx
		h := (hdr.height - p.y + p.dy - 1) / p.dy
		if w > 0 && h > 0 {
			runs = append(runs, pngRowRun{size: 1 + (hdr.bitsPerPixel*w+7)/8, count: h})
		}
	}
	return runs
}

// A deflate stored block contains at most 65535 bytes. In the stored copy
// each block has an IDAT chunk of its own: length, type, block header and
// CRC around the data. The first chunk also contains the zlib header, and
// the last one the Adler-32 of the image data.
const (
	storedBlock    = 65535
	storedOverhead = 8 + 5 + 4
)

// pngIEND is the IEND chunk, with its CRC.
var pngIEND = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82}

// storeRows reads raw bytes of filtered rows from zr, checking each row's
// filter type as image/png does, and writes them to out as IDAT chunks of
// stored blocks, followed by IEND. Data that ends early is "not enough
// pixel data".
func storeRows(zr io.Reader, rows []pngRowRun, raw int64, out []byte) error {
	sum := newAdler32()
	next := 0 // offset of the next row's filter byte in the block being read
	for left := raw; left > 0; {
		n := int(min(left, storedBlock))
		first, last := left == raw, left == int64(n)
		chunk := out[:0]
		chunk = binary.BigEndian.AppendUint32(chunk, uint32(5+n+2*b2i(first)+4*b2i(last)))
		chunk = append(chunk, "IDAT"...)
		if first {
			chunk = append(chunk, 0x78, 0x01) // deflate, 32 KiB window, no dictionary
		}
		chunk = append(chunk, byte(b2i(last)))
		chunk = binary.LittleEndian.AppendUint16(chunk, uint16(n))
		chunk = binary.LittleEndian.AppendUint16(chunk, ^uint16(n))
		block := chunk[len(chunk) : len(chunk)+n]
		if _, err := io.ReadFull(zr, block); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return errPNGNotEnoughPixels
			}
			return err
		}
		for next < n {
			if block[next] > 4 {
				return errPNGBadFilter
			}
			next += rows[0].size
			if rows[0].count--; rows[0].count == 0 && len(rows) > 1 {
				rows = rows[1:]
			}
		}
		next -= n
		sum.Write(block)
		chunk = chunk[:len(chunk)+n]
		if last {
			chunk = binary.BigEndian.AppendUint32(chunk, sum.Sum32())
		}
		chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
		out = out[len(chunk):]
		left -= int64(n)
	}
	copy(out, pngIEND)
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// idatReader reads the data of consecutive IDAT chunks as image/png's
// decoder does: it checks a chunk's CRC when it moves past it, and a chunk
// of another type before the image data ends means not enough pixel data.
// Like that decoder, it has no ReadByte, so compress/zlib reads it through
// a 4 KiB bufio.Reader.
type idatReader struct {
	data []byte // the file from the current position on
	left uint32 // data bytes left in the current IDAT chunk
	crc  hash.Hash32
}

func (r *idatReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for r.left == 0 {
		if err := r.checkCRC(); err != nil {
			return 0, err
		}
		hdr, err := r.next(8)
		if err != nil {
			return 0, err
		}
		r.left = binary.BigEndian.Uint32(hdr)
		if string(hdr[4:8]) != "IDAT" {
			return 0, errPNGNotEnoughPixels
		}
		r.crc.Reset()
		r.crc.Write(hdr[4:8])
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), int(r.left))], r.data)
	r.data = r.data[n:]
	r.crc.Write(p[:n])
	r.left -= uint32(n)
	return n, nil
}

// next returns the next n bytes of the file, or io.ErrUnexpectedEOF when
// fewer are left.
func (r *idatReader) next(n int) ([]byte, error) {
	if len(r.data) < n {
		r.data = nil
		return nil, io.ErrUnexpectedEOF
	}
	b := r.data[:n]
	r.data = r.data[n:]
	return b, nil
}

// checkCRC reads the CRC that ends the current chunk and compares it with
// the one computed.
func (r *idatReader) checkCRC() error {
	sum, err := r.next(4)
	if err != nil {
		return err
	}
	if binary.BigEndian.Uint32(sum) != r.crc.Sum32() {
		return errPNGChecksum
	}
	return nil
}

// checkPNGTrailer checks the chunks after the image data, up to IEND, as
// image/png reads them once it has seen IDAT: a header chunk out of
// order, a bad CRC or a file that ends before IEND is an error. Further
// IDAT chunks are skipped like ancillary ones.
func checkPNGTrailer(data []byte) error {
	for {
		if len(data) < 8 {
			return io.ErrUnexpectedEOF
		}
		n := binary.BigEndian.Uint32(data)
		typ := string(data[4:8])
		switch typ {
		case "IHDR", "PLTE", "tRNS":
			return errPNGChunkOrder
		case "IEND":
			if n != 0 {
				return errPNGIENDLength
			}
		}
		if n > 0x7fffffff {
			return png.FormatError(fmt.Sprintf("Bad chunk length: %d", n))
		}
		if int64(len(data)) < 12+int64(n) {
			return io.ErrUnexpectedEOF
		}
		if binary.BigEndian.Uint32(data[8+n:]) != crc32.ChecksumIEEE(data[4:8+n]) {
			return errPNGChecksum
		}
		if typ == "IEND" {
			return nil
		}
		data = data[12+n:]
	}
}
