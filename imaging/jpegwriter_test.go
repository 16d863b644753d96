package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"runtime"
	"testing"
)

// plainWriter has Write alone, so image/jpeg would wrap it in a
// bufio.Writer of its own.
type plainWriter struct{ buf bytes.Buffer }

func (w *plainWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

// TestEncodeCutoutJPEGWriter checks the writer EncodeCutoutJPEG passes to
// image/jpeg. It must have the methods that keep image/jpeg from adding a
// bufio.Writer, whose buffer would keep the end of the JPEG unwiped. The
// output must be image/jpeg's own, and release must zero the buffer that
// held its end. To see it fail, pass w to jpeg.Encode as before.
func TestEncodeCutoutJPEGWriter(t *testing.T) {
	var jw io.Writer = newJPEGWriter(io.Discard)
	if _, ok := jw.(interface {
		io.Writer
		io.ByteWriter
		Flush() error
	}); !ok {
		t.Fatal("jpegWriter lacks WriteByte or Flush: image/jpeg adds a bufio.Writer")
	}

	img := decode(t, encodePNG(t, smoothNRGBA(120, 90)))
	defer img.Release()
	mask := make([]uint8, img.Width*img.Height)
	for i := range mask {
		mask[i] = uint8(i)
	}
	bg := color.RGBA{10, 200, 30, 255}
	bgc := [3]uint32{uint32(bg.R), uint32(bg.G), uint32(bg.B)}
	var got plainWriter
	if err := EncodeCutoutJPEG(&got, img, mask, bg); err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i, a := range mask {
		for k := range 3 {
			c := uint32(img.RGB[3*i+k])
			rgba.Pix[4*i+k] = uint8((c*uint32(a) + bgc[k]*(255-uint32(a)) +
				127) / 255)
		}
		rgba.Pix[4*i+3] = 255
	}
	var want bytes.Buffer
	if err := jpeg.Encode(&want, rgba, &jpeg.Options{Quality: jpegQuality}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.buf.Bytes(), want.Bytes()) {
		t.Fatalf("EncodeCutoutJPEG wrote %d bytes that differ from image/jpeg's %d",
			got.buf.Len(), want.Len())
	}

	// Once the pools are warm, the encoder allocates less than the 4 KiB
	// of a bufio.Writer. A garbage collection can empty a pool: the least
	// of a few tries counts.
	least := uint64(1 << 62)
	for range 3 {
		got.buf.Reset()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := EncodeCutoutJPEG(&got, img, mask, bg); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least >= jpegWriterSize {
		t.Errorf("EncodeCutoutJPEG allocates %d bytes: image/jpeg added a bufio.Writer", least)
	}

	w := newJPEGWriter(io.Discard)
	buf := w.buf
	end := want.Bytes()[want.Len()-100:]
	w.Write(end)
	w.Flush()
	w.release()
	if !allZero(buf[:cap(buf)]) {
		t.Error("the buffer that held the end of the JPEG is not wiped")
	}
}
