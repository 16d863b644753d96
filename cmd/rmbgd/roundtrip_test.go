package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// referencePhoto returns the bytes of a reference photo and its reference
// mask from RMBGD_REFERENCE_DIR, or skips the test when the folder is not
// set (make test sets it).
func referencePhoto(t *testing.T, name string) (photo []byte, mask *image.Gray) {
	t.Helper()
	dir := os.Getenv("RMBGD_REFERENCE_DIR")
	if dir == "" {
		t.Skip("RMBGD_REFERENCE_DIR is not set")
	}
	photo, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	maskFile, err := os.ReadFile(filepath.Join(dir, "masks", name))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(maskFile))
	if err != nil {
		t.Fatalf("reference mask %s: %v", name, err)
	}
	gray, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("reference mask %s is %T, want 8-bit gray", name, img)
	}
	return photo, gray
}

// alphaOf returns the alpha channel of an RGBA cut-out, or fails the test
// when img is not one.
func alphaOf(t *testing.T, img image.Image) []uint8 {
	t.Helper()
	nrgba, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("cut-out is %T, want 8-bit RGBA (straight alpha)", img)
	}
	b := nrgba.Bounds()
	alpha := make([]uint8, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := nrgba.Pix[(y-b.Min.Y)*nrgba.Stride:]
		for x := 0; x < b.Dx(); x++ {
			alpha = append(alpha, row[4*x+3])
		}
	}
	return alpha
}

// checkCutoutColours fails the test unless every visible pixel of cutout
// has the colour of the same pixel of photo, and every fully transparent
// one is all zeros.
func checkCutoutColours(t *testing.T, cutout image.Image, photo []byte) {
	t.Helper()
	src, err := png.Decode(bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	cut := cutout.(*image.NRGBA)
	visible, clear := 0, 0
	for y := range cut.Rect.Dy() {
		for x := range cut.Rect.Dx() {
			got := cut.NRGBAAt(x, y)
			want := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			want.A = got.A
			if got.A == 0 {
				want, clear = color.NRGBA{}, clear+1
			} else {
				visible++
			}
			if got != want {
				t.Fatalf("cut-out pixel (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
	if visible == 0 || clear == 0 {
		t.Errorf("%d visible and %d transparent pixels: want some of each", visible, clear)
	}
}

// checkMaskNear fails the test when got differs from the reference mask by
// more than 2/255 on average, the fidelity bound of the reference pipeline.
func checkMaskNear(t *testing.T, label string, got []uint8, want *image.Gray) {
	t.Helper()
	if len(got) != len(want.Pix) {
		t.Fatalf("%s: %d pixels, reference mask %d", label, len(got), len(want.Pix))
	}
	sum := 0
	for i, v := range got {
		d := int(v) - int(want.Pix[i])
		sum += max(d, -d)
	}
	if mae := float64(sum) / float64(len(got)); mae > 2 {
		t.Errorf("%s: mean absolute error %.3f/255 against the reference mask, want ≤ 2",
			label, mae)
	}
}

// removeResponse is the JSON response of POST /v1/remove.
type removeResponse struct {
	Image       string `json:"image"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Backend     string `json:"backend"`
	Model       string `json:"model"`
	Foreground  struct {
		Left, Top, Width, Height int
	} `json:"foreground"`
	TimingMs map[string]float64 `json:"timing_ms"`
}

// TestModelJSONRoundTrip sends a reference photo to the real daemon and
// model as the web client does, base64 in JSON, requests the JSON response,
// and checks every field and the cut-out's alpha against the reference
// mask. The same photo as a raw body with ?output=mask must give the same
// mask as the cut-out's alpha.
func TestModelJSONRoundTrip(t *testing.T) {
	model := privacyModel(t)
	photo, want := referencePhoto(t, "coffee.png")
	bin := buildBinary(t)
	d := startDaemon(t, []string{bin, "serve", "--model", model, "--drain-delay", "0s"}, nil)
	defer d.stop(t)

	body, err := json.Marshal(map[string]string{
		"image":    base64.StdEncoding.EncodeToString(photo),
		"filename": "coffee.png",
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", "http://"+d.addr+"/v1/remove", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, answer)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}

	var got removeResponse
	if err := json.Unmarshal(answer, &got); err != nil {
		t.Fatalf("JSON response: %v", err)
	}
	size := want.Bounds().Size()
	if got.Width != size.X || got.Height != size.Y {
		t.Errorf("size %d×%d, want %d×%d", got.Width, got.Height, size.X, size.Y)
	}
	if got.ContentType != "image/png" {
		t.Errorf("content_type %q, want image/png", got.ContentType)
	}
	if got.Backend != "cpu" {
		t.Errorf("backend %q, want cpu", got.Backend)
	}
	if got.Model != "isnet-general-use" {
		t.Errorf("model %q, want isnet-general-use", got.Model)
	}
	fg := got.Foreground
	if fg.Width <= 0 || fg.Height <= 0 || fg.Left < 0 || fg.Top < 0 ||
		fg.Left+fg.Width > size.X || fg.Top+fg.Height > size.Y {
		t.Errorf("foreground box %+v is empty or outside the %d×%d image", fg, size.X, size.Y)
	}
	for _, stage := range []string{"queue", "pre", "infer", "post", "encode", "total"} {
		if _, ok := got.TimingMs[stage]; !ok {
			t.Errorf("timing_ms has no %q", stage)
		}
	}
	if got.TimingMs["infer"] <= 0 || got.TimingMs["total"] < got.TimingMs["infer"] {
		t.Errorf("timing_ms infer %v, total %v: want 0 < infer ≤ total",
			got.TimingMs["infer"], got.TimingMs["total"])
	}

	data, err := base64.StdEncoding.DecodeString(got.Image)
	if err != nil {
		t.Fatalf("image is not base64: %v", err)
	}
	cutout, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image is not a PNG: %v", err)
	}
	if cutout.Bounds().Size() != size {
		t.Fatalf("cut-out is %v, want %v", cutout.Bounds().Size(), size)
	}
	alpha := alphaOf(t, cutout)
	checkMaskNear(t, "cut-out alpha", alpha, want)
	checkCutoutColours(t, cutout, photo)

	resp, err = http.Post("http://"+d.addr+"/v1/remove?output=mask", "image/png",
		bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	maskFile, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mask request: status %d: %s", resp.StatusCode, maskFile)
	}
	mask, err := png.Decode(bytes.NewReader(maskFile))
	if err != nil {
		t.Fatalf("mask is not a PNG: %v", err)
	}
	gray, ok := mask.(*image.Gray)
	if !ok {
		t.Fatalf("mask is %T, want 8-bit gray", mask)
	}
	if !bytes.Equal(gray.Pix, alpha) {
		t.Error("the mask differs from the alpha of the cut-out of the same photo")
	}
}

// TestCutWithModel runs rmbgd cut with the real model on a reference
// photo, as a file and as a folder with --mask, and checks both outputs
// against the reference mask and each other.
func TestCutWithModel(t *testing.T) {
	model := privacyModel(t)
	photo, want := referencePhoto(t, "coffee.png")
	bin := buildBinary(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "coffee.png"), photo, 0o644); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"cut", "--model", model}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rmbgd cut %v: %v\n%s", args, err, out)
		}
	}
	readPNG := func(path string) image.Image {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return img
	}

	cutoutPath := filepath.Join(dir, "cutout.png")
	run(filepath.Join(in, "coffee.png"), "-o", cutoutPath)
	alpha := alphaOf(t, readPNG(cutoutPath))
	checkMaskNear(t, "cut-out alpha", alpha, want)

	outDir := filepath.Join(dir, "masks")
	run(in, "-o", outDir, "--mask")
	entries, err := os.ReadDir(outDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("the output folder has %d entries, want 1", len(entries))
	}
	mask, ok := readPNG(filepath.Join(outDir, entries[0].Name())).(*image.Gray)
	if !ok {
		t.Fatalf("%s is not an 8-bit gray PNG", entries[0].Name())
	}
	checkMaskNear(t, "mask", mask.Pix, want)
	if !bytes.Equal(mask.Pix, alpha) {
		t.Error("the folder run's mask differs from the file run's cut-out alpha")
	}
}
