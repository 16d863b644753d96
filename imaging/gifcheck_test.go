package imaging

import (
	"bytes"
	"compress/lzw"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"math/rand/v2"
	"testing"

	"github.com/rmbgd/rmbgd/imaging/imagingtest"
)

// gifSubBlocks splits data into GIF data sub-blocks and adds the block
// terminator.
func gifSubBlocks(data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		n := min(len(data), 255)
		out = append(append(out, byte(n)), data[:n]...)
		data = data[n:]
	}
	return append(out, 0)
}

// gifLZW returns the LZW data of a frame's palette indexes.
func gifLZW(litWidth int, pix []byte) []byte {
	var z bytes.Buffer
	w := lzw.NewWriter(&z, lzw.LSB, litWidth)
	w.Write(pix)
	w.Close()
	return z.Bytes()
}

// rawGIF returns a GIF with a global colour table of colors entries and
// one w×h frame whose image data is the LZW stream z, followed by extra
// sub-blocks before the terminator.
func rawGIF(colors, w, h int, z []byte, extra []byte) []byte {
	return rawGIFTable(colors, w, h, false, z, extra)
}

// rawGIFTable is rawGIF with the colour table in the frame, local, when
// local is set.
func rawGIFTable(colors, w, h int, local bool, z []byte, extra []byte) []byte {
	bits := 0
	for 1<<(bits+1) < colors {
		bits++
	}
	table := make([]byte, 3<<(bits+1))
	screenFlags, frameFlags := 0x80|byte(bits), byte(0)
	if local {
		screenFlags, frameFlags = 0, 0x80|byte(bits)
	}
	out := []byte("GIF89a")
	out = append(out, byte(w), byte(w>>8), byte(h), byte(h>>8), screenFlags, 0, 0)
	if !local {
		out = append(out, table...)
	}
	out = append(out, 0x2c, 0, 0, 0, 0, byte(w), byte(w>>8), byte(h), byte(h>>8), frameFlags)
	if local {
		out = append(out, table...)
	}
	out = append(out, 8)
	blocks := gifSubBlocks(z)
	out = append(out, blocks[:len(blocks)-1]...)
	return append(append(append(out, extra...), 0), 0x3b)
}

// gifCorpus returns GIFs of the layouts checkGIFFrame follows: local and
// global colour tables, transparency past the palette, extensions before
// the frame, frames past the logical screen, stray sub-blocks after the
// image data and indexes past the palette.
func gifCorpus(t testing.TB) [][]byte {
	t.Helper()
	var files [][]byte
	var g bytes.Buffer
	if err := gif.Encode(&g, quadrants(9, 7), nil); err != nil {
		t.Fatal(err)
	}
	files = append(files, g.Bytes())

	// Two frames, a loop count and a transparent palette entry.
	pal := color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{200, 100, 0, 255},
		color.RGBA{0, 0, 0, 0}}
	frame := image.NewPaletted(image.Rect(0, 0, 12, 5), pal)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i % 3)
	}
	g.Reset()
	if err := gif.EncodeAll(&g, &gif.GIF{Image: []*image.Paletted{frame, frame},
		Delay: []int{1, 1}, LoopCount: 2}); err != nil {
		t.Fatal(err)
	}
	files = append(files, g.Bytes())
	big := image.NewPaletted(image.Rect(0, 0, 40, 30), palette.WebSafe)
	for i := range big.Pix {
		big.Pix[i] = uint8(i * 7 % len(palette.WebSafe))
	}
	g.Reset()
	if err := gif.Encode(&g, big, nil); err != nil {
		t.Fatal(err)
	}
	files = append(files, g.Bytes())

	red := color.RGBA{200, 0, 0, 255}
	files = append(files,
		imagingtest.GIF(8, 6, 4, 4, imagingtest.FlatFrame(image.Rect(2, 2, 8, 6), red)),
		imagingtest.GIF(4, 4, 4, 4, imagingtest.FlatFrame(image.Rect(0, 0, 4, 4), red),
			imagingtest.FlatFrame(image.Rect(1, 1, 3, 3), red)))

	pix := make([]byte, 6*4)
	for i := range pix {
		pix[i] = uint8(i % 4)
	}
	z := gifLZW(8, pix)
	files = append(files, rawGIF(4, 6, 4, z, nil),
		rawGIF(4, 6, 4, z, []byte{1, 9}),
		rawGIF(4, 6, 4, z, []byte{2, 9, 9}),
		rawGIF(4, 6, 4, z, []byte{1, 9, 1, 9}),
		rawGIF(4, 6, 4, gifLZW(8, pix[:20]), nil),
		rawGIF(4, 6, 4, gifLZW(8, append(pix, 1)), nil),
		rawGIF(2, 6, 4, z, nil), // indexes 2 and 3 are past a 2-entry palette
		rawGIFTable(4, 6, 4, true, z, nil),
		rawGIFTable(2, 6, 4, true, z, nil),
	)
	// A transparent index past the palette, set by a graphic control
	// extension after a comment.
	withGC := rawGIF(2, 6, 4, z, nil)
	ext := []byte{0x21, 0xfe, 3, 'a', 'b', 'c', 0, 0x21, 0xf9, 4, 1, 0, 0, 3, 0}
	at := 13 + 3*2
	files = append(files, append(append(append([]byte{}, withGC[:at]...), ext...),
		withGC[at:]...))
	return files
}

// descriptorEnd returns the offset just past the first image descriptor of
// a GIF, walking the blocks before it as checkGIFFrame does.
func descriptorEnd(data []byte) (int, bool) {
	if len(data) < gifHeaderSize {
		return 0, false
	}
	s := gifScan{data: data[gifHeaderSize:]}
	if flags := data[10]; flags&0x80 != 0 && !s.skip(3<<(1+flags&7)) {
		return 0, false
	}
	var transparent int
	for {
		block, ok := s.byte()
		if !ok {
			return 0, false
		}
		switch block {
		case 0x21:
			if !s.skipExtension(&transparent) {
				return 0, false
			}
		case 0x2c:
			if len(s.data) < 9 {
				return 0, false
			}
			return len(data) - len(s.data) + 9, true
		default:
			return 0, false
		}
	}
}

// frameSize returns the pixels of the frame whose image descriptor ends
// desc.
func frameSize(desc []byte) int {
	end := len(desc)
	return (int(desc[end-5]) | int(desc[end-4])<<8) * (int(desc[end-3]) | int(desc[end-2])<<8)
}

// frameAllocated reports whether image/gif gets as far as allocating the
// first frame of data: it decodes the blocks up to and including the image
// descriptor followed by a local colour table and image data of zeros.
func frameAllocated(data []byte) bool {
	end, ok := descriptorEnd(data)
	if !ok {
		return false
	}
	probe := append([]byte{}, data[:end]...)
	flags := probe[end-1]
	probe[end-1] = flags | 0x80
	probe = append(probe, make([]byte, 3<<(1+flags&7))...)
	w := int(probe[end-5]) | int(probe[end-4])<<8
	h := int(probe[end-3]) | int(probe[end-2])<<8
	probe = append(probe, 8)
	probe = append(probe, gifSubBlocks(gifLZW(8, make([]byte, w*h)))...)
	probe = append(probe, 0x3b)
	_, err := gif.Decode(bytes.NewReader(probe))
	return err == nil
}

// TestCheckGIFFrameMatchesImageGIF checks checkGIFFrame against image/gif
// on valid files and on many broken ones. For every file whose first frame
// image/gif allocates, checkGIFFrame must pass exactly the files gif.Decode
// decodes. A file it passed that image/gif then rejected would leave a
// half-decoded frame in freed memory. A file it rejected that image/gif
// decodes would be a valid upload turned away.
func TestCheckGIFFrameMatchesImageGIF(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	var files [][]byte
	for _, f := range gifCorpus(t) {
		files = append(files, f)
		for n := 6; n < len(f); n++ {
			files = append(files, f[:n])
		}
		for range 400 {
			files = append(files, imagingtest.Mutate(f, rng))
		}
	}
	checked, passed := 0, 0
	for i, f := range files {
		// A mutated size can ask for gigabytes: keep to small frames.
		if end, ok := descriptorEnd(f); !ok || frameSize(f[:end]) > 1<<16 {
			continue
		}
		_, decodeErr := gif.Decode(bytes.NewReader(f))
		if !frameAllocated(f) {
			if decodeErr == nil {
				t.Fatalf("file %d of %d bytes: decodes, but no frame is allocated", i, len(f))
			}
			continue
		}
		checked++
		err := checkGIFFrame(f)
		if (err == nil) != (decodeErr == nil) {
			t.Fatalf("file %d of %d bytes: checkGIFFrame %v, gif.Decode %v", i, len(f), err,
				decodeErr)
		}
		if err == nil {
			passed++
		}
	}
	t.Logf("%d files with an allocated frame, %d decodable", checked, passed)
	if passed == 0 || passed == checked {
		t.Fatalf("the corpus needs both decodable and broken files")
	}
}

// TestDecodeGIFCutInImageData decodes a GIF cut off inside its image
// data. image/gif would allocate the frame before it meets the cut, and
// return it to no one. Decode must reject the file before that, so with
// the pool warmed by a decode of the whole file, rejecting the cut one
// allocates far less than the frame. To see the test fail, make decodeGIF
// skip checkGIFFrame.
func TestDecodeGIFCutInImageData(t *testing.T) {
	const side = 512
	frame := image.NewPaletted(image.Rect(0, 0, side, side), palette.WebSafe)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i * 7 % len(palette.WebSafe))
	}
	var g bytes.Buffer
	if err := gif.Encode(&g, frame, nil); err != nil {
		t.Fatal(err)
	}
	full := g.Bytes()
	cut := full[:len(full)/2]
	if _, err := gif.Decode(bytes.NewReader(cut)); err == nil {
		t.Fatal("image/gif decodes the cut file")
	}

	checkRejectedUnallocated(t, "GIF", full, cut, side)
}
