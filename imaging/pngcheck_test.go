package imaging

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/png"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"

	"github.com/rmbgd/rmbgd/imaging/imagingtest"
)

// splitIDAT rewrites the image data of a PNG with one IDAT chunk into
// chunks of at most size bytes, and appends extra after the zlib stream in
// the last one.
func splitIDAT(t testing.TB, file []byte, size int, extra []byte) []byte {
	t.Helper()
	_, at, ok := findIDAT(file)
	if !ok {
		t.Fatal("no IDAT chunk")
	}
	n := int(binary.BigEndian.Uint32(file[at:]))
	z := append(append([]byte{}, file[at+8:at+8+n]...), extra...)
	out := append([]byte{}, file[:at]...)
	for len(z) > 0 {
		k := min(size, len(z))
		out = imagingtest.AppendPNGChunk(out, "IDAT", z[:k])
		z = z[k:]
	}
	return append(out, file[at+12+n:]...)
}

// withImageData replaces the image data of a PNG with one IDAT chunk by
// the zlib stream of raw, the filtered rows.
func withImageData(t testing.TB, file, raw []byte) []byte {
	t.Helper()
	_, at, ok := findIDAT(file)
	if !ok {
		t.Fatal("no IDAT chunk")
	}
	n := int(binary.BigEndian.Uint32(file[at:]))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	out := imagingtest.AppendPNGChunk(append([]byte{}, file[:at]...), "IDAT", z.Bytes())
	return append(out, file[at+12+n:]...)
}

// withTrailer inserts chunk right before the IEND chunk of file.
func withTrailer(file, chunk []byte) []byte {
	end := len(file) - 12
	out := append(append([]byte{}, file[:end]...), chunk...)
	return append(out, file[end:]...)
}

// checkCorpus returns PNG files of every colour type, depth and layout of
// chunks that storedPNG follows: interlaced, image data split over many
// IDAT chunks, stray bytes after the zlib stream, chunks after the image
// data.
func checkCorpus(t testing.TB) [][]byte {
	t.Helper()
	var files [][]byte
	for _, c := range []struct{ colorType, depth int }{
		{imagingtest.Gray, 1}, {imagingtest.Gray, 2}, {imagingtest.Gray, 4},
		{imagingtest.Gray, 8}, {imagingtest.Gray, 16}, {imagingtest.RGB, 8},
		{imagingtest.RGB, 16}, {imagingtest.Paletted, 1}, {imagingtest.Paletted, 4},
		{imagingtest.Paletted, 8}, {imagingtest.GrayAlpha, 8}, {imagingtest.GrayAlpha, 16},
		{imagingtest.RGBA, 8}, {imagingtest.RGBA, 16},
	} {
		for _, interlaced := range []bool{false, true} {
			p := pngCase(c.colorType, c.depth)
			p.Width, p.Height, p.Interlaced = 11, 9, interlaced
			p.Samples = nil
			ch := imagingtest.Channels(c.colorType)
			maxV := 1<<c.depth - 1
			if c.colorType == imagingtest.Paletted {
				maxV = 3
				p.Palette = pngCase(c.colorType, c.depth).Palette
			}
			for i := range p.Width * p.Height * ch {
				p.Samples = append(p.Samples, uint16((i*7919+i/ch*31)%(maxV+1)))
			}
			files = append(files, p.Encode())
		}
	}
	// An 8-bit RGB image of 4×3 pixels has rows of 1 + 12 bytes.
	rgb := imagingtest.PNG{Width: 4, Height: 3, ColorType: imagingtest.RGB, BitDepth: 8,
		Samples: make([]uint16, 4*3*3)}.Encode()
	rows := make([]byte, 3*13)
	files = append(files, withImageData(t, rgb, rows),
		withImageData(t, rgb, rows[:len(rows)-1]),
		withImageData(t, rgb, append(rows, 0)),
		withImageData(t, rgb, append(append([]byte{}, rows[:13]...), append([]byte{5},
			rows[14:]...)...)))

	photo := encodePNG(t, smoothNRGBA(40, 30))
	files = append(files, photo,
		splitIDAT(t, photo, 7, nil),
		splitIDAT(t, photo, 100, []byte{1, 2, 3}),
		splitIDAT(t, photo, 1<<20, bytes.Repeat([]byte{9}, 5000)),
		withTrailer(photo, imagingtest.AppendPNGChunk(nil, "tEXt", []byte("a\x00b"))),
		withTrailer(photo, imagingtest.AppendPNGChunk(nil, "IDAT", []byte{1, 2})),
		withTrailer(photo, imagingtest.AppendPNGChunk(nil, "tRNS", []byte{1, 2})),
		withTrailer(photo, imagingtest.AppendPNGChunk(nil, "PLTE", []byte{1, 2, 3})),
		append(append([]byte{}, photo...), "trailing bytes after IEND"...),
	)
	return files
}

// headerAccepted reports whether image/png accepts the chunks of file
// before its first IDAT chunk, which it reads before it allocates the
// picture: it decodes them followed by image data of zeros and IEND.
func headerAccepted(t testing.TB, file []byte) bool {
	t.Helper()
	hdr, at, ok := findIDAT(file)
	if !ok {
		return false
	}
	passes := pngPlain
	if hdr.interlaced {
		passes = pngAdam7
	}
	var raw int
	for _, p := range passes {
		w := (hdr.width - p.x + p.dx - 1) / p.dx
		h := (hdr.height - p.y + p.dy - 1) / p.dy
		if w > 0 && h > 0 {
			raw += h * (1 + (hdr.bitsPerPixel*w+7)/8)
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, raw))
	zw.Close()
	probe := imagingtest.AppendPNGChunk(append([]byte{}, file[:at]...), "IDAT", z.Bytes())
	probe = imagingtest.AppendPNGChunk(probe, "IEND", nil)
	_, err := png.Decode(bytes.NewReader(probe))
	return err == nil
}

// TestStoredPNGMatchesImagePNG checks storedPNG against image/png on
// valid files and on many broken ones. For every file whose chunks before
// the image data image/png accepts, storedPNG must pass exactly the files
// png.Decode decodes, and its stored copy must decode to the same picture.
// A file it passed that image/png then rejected would leave half-decoded
// rows in freed memory. A file it rejected that image/png decodes would be
// a valid upload turned away. Files that image/png rejects before the
// image data fail before it allocates anything, so there the check's
// result does not matter.
func TestStoredPNGMatchesImagePNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	var files [][]byte
	for _, f := range checkCorpus(t) {
		files = append(files, f)
		for n := 8; n < len(f); n += 1 + len(f)/200 {
			files = append(files, f[:n])
		}
		for range 300 {
			files = append(files, imagingtest.Mutate(f, rng))
		}
	}
	checked, passed := 0, 0
	for i, f := range files {
		if _, err := png.DecodeConfig(bytes.NewReader(f)); err != nil {
			continue
		}
		want, decodeErr := png.Decode(bytes.NewReader(f))
		if !headerAccepted(t, f) {
			if decodeErr == nil {
				t.Fatalf("file %d of %d bytes: decodes, but its header does not", i, len(f))
			}
			continue
		}
		checked++
		stored, err := storedPNG(f)
		if (err == nil) != (decodeErr == nil) {
			t.Fatalf("file %d of %d bytes: storedPNG %v, png.Decode %v", i, len(f), err, decodeErr)
		}
		if err != nil {
			continue
		}
		passed++
		got, err := png.Decode(bytes.NewReader(stored))
		putBytes(stored)
		if err != nil {
			t.Fatalf("file %d of %d bytes: the stored copy does not decode: %v", i, len(f), err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("file %d of %d bytes: the stored copy decodes to another picture", i, len(f))
		}
	}
	t.Logf("%d files with image data to check, %d decodable", checked, passed)
	if passed == 0 || passed == checked {
		t.Fatalf("the corpus needs both decodable and broken files")
	}
}

// TestDecodePNGCutInImageData decodes a PNG cut off inside its image
// data. image/png would allocate the whole picture before it meets the
// cut, and return it to no one. Decode must reject the file before that:
// the only buffer of the picture's size is then the pooled stored copy,
// which putBytes zeroes. With the pool warmed by a decode of the whole
// file, rejecting the cut one allocates far less than one plane. To see
// the test fail, make decodePNG call png.Decode on data directly.
func TestDecodePNGCutInImageData(t *testing.T) {
	const side = 512
	full := encodePNG(t, smoothNRGBA(side, side))
	_, at, _ := findIDAT(full)
	n := int(binary.BigEndian.Uint32(full[at:]))
	cut := full[:at+8+n/2]
	if _, err := png.Decode(bytes.NewReader(cut)); err == nil {
		t.Fatal("image/png decodes the cut file")
	}

	checkRejectedUnallocated(t, "PNG", full, cut, side)
}

// checkRejectedUnallocated checks that Decode rejects cut, a side×side
// image of the named format cut inside its image data, without allocating
// a picture of that size: fewer than side² bytes, after a decode of full
// has filled the pools.
func checkRejectedUnallocated(t *testing.T, format string, full, cut []byte, side int) {
	t.Helper()
	// A garbage collection between the two decodes can empty the pool:
	// the least of a few tries counts.
	least := uint64(1 << 62)
	for range 3 {
		decode(t, full).Release()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		img, err := Decode(cut, 0)
		runtime.ReadMemStats(&after)
		if err == nil {
			img.Release()
			t.Fatalf("Decode accepted a %s cut inside its image data", format)
		}
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least >= uint64(side*side) {
		t.Errorf("Decode allocated %d bytes for a rejected %d×%d %s, want under %d",
			least, side, side, format, side*side)
	}
}

// BenchmarkStoredPNG measures the check and the stored copy alone on a
// 12 MP RGB PNG; see BenchmarkDecodePhoto for the whole decode they are
// part of.
func BenchmarkStoredPNG(b *testing.B) {
	const w, h = 4000, 3000
	img, _ := photoCutout(b, w, h)
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(rgba.Pix[4*i:4*i+3], img.RGB[3*i:3*i+3])
		rgba.Pix[4*i+3] = 255
	}
	data := encodePNG(b, rgba)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		stored, err := storedPNG(data)
		if err != nil {
			b.Fatal(err)
		}
		putBytes(stored)
	}
}
