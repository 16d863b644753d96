package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/models"
)

// The privacy tests run the real binary with the real model and check what
// an uploaded image leaves behind. TestPrivacyMarkers finds nothing in logs,
// metrics or responses, TestPrivacyMemory nothing in free memory,
// TestStraceNoFiles no file and TestPrivacyLimits no core dump. Each test
// says how to break its guarantee on purpose to see it fail.

// Markers carried by the requests. None of them may leave the process
// except as the image the client asked for.
const (
	markerText     = "RMBGDtextMARKERone7c1d"   // PNG tEXt chunk
	markerFilename = "RMBGDfileMARKERtwo9e4a"   // filename values
	markerAuth     = "RMBGDauthMARKERthree3b8f" // Authorization
	markerKey      = "RMBGDkeyMARKERfour5d2c"   // X-API-Key
	markerSig      = "RMBGDsigMARKERfive1a6e"   // X-Signature
	markerBase64   = "RMBGDb64MARKERsix8f0b"    // inside invalid base64
	markerBody     = "RMBGDbodyMARKERseven4e9d" // text and oversized bodies
)

// pixelPattern fills every row of the marker image: 32 bytes of RGB, so a
// 256-pixel row (768 bytes) is 24 whole copies and the decoded RGB buffer
// is this pattern repeated.
var pixelPattern = []byte("RMBGD-pixel-MARKER-0f6b2e94c7a1!")

// markerPNG returns a 256×256 PNG whose RGB rows repeat pixelPattern, whose
// tEXt chunk holds markerText and whose "prIv" chunk holds noise.
func markerPNG(t testing.TB) []byte {
	t.Helper()
	const side = 256
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			at := func(c int) uint8 { return pixelPattern[(x*3+c)%len(pixelPattern)] }
			img.SetNRGBA(x, y, color.NRGBA{R: at(0), G: at(1), B: at(2), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	const ihdrEnd = 8 + 8 + 13 + 4 // signature, IHDR header, IHDR data, CRC
	chunk := pngChunk("tEXt", append([]byte("Comment\x00"), markerText...))
	out := append([]byte{}, data[:ihdrEnd]...)
	out = append(out, chunk...)
	out = append(out, pngChunk("prIv", noiseBytes(noiseChunkLen))...)
	return append(out, data[ihdrEnd:]...)
}

// markerPNGCutInData returns the marker PNG cut off in the middle of its
// image data, so that image/png decodes some rows before it meets the cut.
func markerPNGCutInData(t testing.TB) []byte {
	t.Helper()
	data := markerPNG(t)
	at := bytes.Index(data, []byte("IDAT"))
	if at < 4 {
		t.Fatal("the marker PNG has no IDAT chunk")
	}
	n := int(binary.BigEndian.Uint32(data[at-4:]))
	return data[:at+4+n/2]
}

// hugePNG returns the start of a PNG whose header claims 20000×20000
// pixels, with markerText in a tEXt chunk: the daemon must reject it from
// the header, before it decodes anything.
func hugePNG() []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, 20000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 20000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, not interlaced
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("tEXt", append([]byte("Comment\x00"), markerText...))...)
	return append(out, pngChunk("IDAT", []byte{0x78, 0x01})...)
}

// jpegNoiseLen is the size of the APP15 segment of noise in the marker
// JPEG. Its noise follows the PNG's in the same sequence, so that the
// needles of the two uploads differ.
const jpegNoiseLen = 32 << 10

// markerJPEG returns the marker image as a baseline JPEG with an APP15
// segment of noise after SOI.
func markerJPEG(t testing.TB) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(markerPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	noise := noiseBytes(noiseChunkLen + jpegNoiseLen)[noiseChunkLen:]
	app15 := binary.BigEndian.AppendUint16([]byte{0xff, 0xef}, uint16(2+len(noise)))
	out := append([]byte{}, buf.Bytes()[:2]...)
	out = append(append(out, app15...), noise...)
	return append(out, buf.Bytes()[2:]...)
}

// noiseChunkLen is the size of the ancillary chunk of noise in the marker
// PNG. It makes the upload far larger than the HTTP server's 4 KiB read
// buffer, so most of its bytes pass through rmbgd's body buffer.
const noiseChunkLen = 96 << 10

// noiseBytes returns n bytes of a fixed pseudo-random sequence: data that
// is found nowhere else in the process.
func noiseBytes(n int) []byte {
	b := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x >> 32)
	}
	return b
}

// pngChunk returns a PNG chunk: length, type, data and CRC.
func pngChunk(kind string, data []byte) []byte {
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, kind...)
	chunk = append(chunk, data...)
	return binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
}

// privacyModel returns the installed model, failing under make test
// (RMBGD_REQUIRE_MODEL=1) when it is missing and skipping otherwise.
func privacyModel(t testing.TB) string {
	t.Helper()
	path, err := models.Locate(models.Default)
	if err != nil {
		if os.Getenv("RMBGD_REQUIRE_MODEL") == "1" {
			t.Fatalf("model: %v", err)
		}
		t.Skipf("model not installed (%v)", err)
	}
	return path
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// testBuildTags are the build tags of this test binary, which buildBinary
// builds rmbgd with, so that the tests run the decoders the build ships.
var testBuildTags string

// buildBinary builds rmbgd once per test run into a temporary folder.
func buildBinary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rmbgd-privacy-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "rmbgd")
		out, err := exec.Command("go", "build", "-tags", testBuildTags, "-o", binaryPath,
			".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// TestMain removes the binary that buildBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// daemonProcess is an rmbgd serve process started by a test.
type daemonProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
	exited chan error
}

// startDaemon runs argv (the binary or a wrapper around it, then "serve"
// flags follow) with --listen on a free port and waits for /readyz.
// configure may adjust the command before it starts.
func startDaemon(t testing.TB, argv []string, configure func(*exec.Cmd)) *daemonProcess {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args := append(append([]string{}, argv[1:]...), "--listen", addr)
	d := &daemonProcess{
		cmd:    exec.Command(argv[0], args...),
		addr:   addr,
		stderr: &lockedBuffer{},
		exited: make(chan error, 1),
	}
	d.cmd.Stderr = d.stderr
	if configure != nil {
		configure(d.cmd)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.exited
		}
	})

	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.exited:
			t.Fatalf("rmbgd exited before ready: %v\n%s", err, d.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
	}
	t.Fatalf("rmbgd not ready after 3 minutes\n%s", d.stderr.String())
	return nil
}

// stop sends SIGTERM and waits for the process to exit.
func (d *daemonProcess) stop(t testing.TB) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Errorf("rmbgd exit: %v\n%s", err, d.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Errorf("rmbgd still running a minute after SIGTERM")
	}
}

// privacyRequest is one request of the mix sent to the daemon.
type privacyRequest struct {
	name        string
	contentType string
	body        []byte
	status      int    // expected status
	code        string // expected error code; empty for a success
	success     bool   // the response is the image the client asked for
	timeoutMs   int    // X-Request-Timeout-Ms when not 0
}

// multipartBody returns a multipart form with data in the "image" part
// and markerFilename as its filename.
func multipartBody(t testing.TB, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, err := w.CreateFormFile("image", markerFilename+".png")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// privacyRequests returns the mix of good and bad requests: a success of
// each body kind, a JPEG cut-out and every rejection an image can meet
// before or during decoding.
func privacyRequests(t testing.TB, maxBody int) []privacyRequest {
	t.Helper()
	pngData := markerPNG(t)
	b64 := base64.StdEncoding.EncodeToString(pngData)
	formType, form := multipartBody(t, pngData)
	textType, textForm := multipartBody(t, []byte(strings.Repeat(markerBody+" ", 100)))
	truncType, truncForm := multipartBody(t, pngData[:len(pngData)/2])
	jsonImage := func(image, filename string) []byte {
		return []byte(`{"image":"` + image + `","filename":"` + filename + `"}`)
	}
	jpegJSON := []byte(`{"image":"` + base64.StdEncoding.EncodeToString(markerJPEG(t)) +
		`","filename":"` + markerFilename + `","format":"jpeg"}`)
	const (
		badRequest  = http.StatusBadRequest
		unsupported = http.StatusUnsupportedMediaType
		undecodable = http.StatusUnprocessableEntity
	)
	return []privacyRequest{
		{name: "raw png", contentType: "image/png", body: pngData,
			status: http.StatusOK, success: true},
		{name: "multipart png", contentType: formType, body: form,
			status: http.StatusOK, success: true},
		{name: "json png", contentType: "application/json",
			body: jsonImage(b64, markerFilename), status: http.StatusOK, success: true},
		{name: "json jpeg as jpeg", contentType: "application/json", body: jpegJSON,
			status: http.StatusOK, success: true},
		{name: "json bad escape before marker", contentType: "application/json",
			body:   jsonImage(b64, `a\q`+markerFilename),
			status: badRequest, code: "malformed_json"},
		{name: "json control byte before marker", contentType: "application/json",
			body:   jsonImage(b64, "a\x01"+markerFilename),
			status: badRequest, code: "malformed_json"},
		{name: "json unterminated filename", contentType: "application/json",
			body:   []byte(`{"image":"` + b64 + `","filename":"` + markerFilename),
			status: badRequest, code: "malformed_json"},
		{name: "json invalid base64", contentType: "application/json",
			body:   jsonImage(b64[:64]+"*"+markerBase64+b64[64:], markerFilename),
			status: badRequest, code: "invalid_base64"},
		{name: "json text image", contentType: "application/json",
			body: jsonImage(base64.StdEncoding.EncodeToString(
				[]byte(strings.Repeat(markerBody, 20))), markerFilename),
			status: unsupported, code: "unsupported_format"},
		{name: "raw text", contentType: "image/png",
			body:   []byte(strings.Repeat(markerBody+"\n", 50)),
			status: unsupported, code: "unsupported_format"},
		{name: "multipart text", contentType: textType, body: textForm,
			status: unsupported, code: "unsupported_format"},
		{name: "multipart truncated png", contentType: truncType, body: truncForm,
			status: undecodable, code: "decode_failed"},
		{name: "raw truncated png", contentType: "image/png", body: pngData[:len(pngData)/2],
			status: undecodable, code: "decode_failed"},
		{name: "raw png cut in image data", contentType: "image/png",
			body: markerPNGCutInData(t), status: undecodable, code: "decode_failed"},
		{name: "json too many pixels", contentType: "application/json",
			body:   jsonImage(base64.StdEncoding.EncodeToString(hugePNG()), markerFilename),
			status: http.StatusRequestEntityTooLarge, code: "too_many_pixels"},
		// An inference takes far longer than 50 ms, so the deadline passes
		// while the image is in the engine.
		{name: "timed out", contentType: "image/png", body: pngData,
			status: http.StatusGatewayTimeout, code: "timeout", timeoutMs: 50},
		{name: "oversized", contentType: "image/png",
			body:   bytes.Repeat([]byte(markerBody), maxBody/len(markerBody)+10),
			status: http.StatusRequestEntityTooLarge, code: "payload_too_large"},
	}
}

// sendPrivacyRequest posts r with the secret headers and returns the
// response body, failing on an unexpected status.
func sendPrivacyRequest(t testing.TB, addr string, r privacyRequest) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/remove",
		bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", r.contentType)
	req.Header.Set("Authorization", "Bearer "+markerAuth)
	req.Header.Set("X-API-Key", markerKey)
	req.Header.Set("X-Signature", "t=1,kid=k,v1="+markerSig)
	if r.timeoutMs != 0 {
		req.Header.Set("X-Request-Timeout-Ms", strconv.Itoa(r.timeoutMs))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The server may close an oversized upload before reading it all.
		if r.status == http.StatusRequestEntityTooLarge {
			return nil
		}
		t.Fatalf("%s: %v", r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read response: %v", r.name, err)
	}
	if resp.StatusCode != r.status {
		t.Errorf("%s: status %d, expected %d: %.300s", r.name, resp.StatusCode, r.status, body)
	}
	if r.code != "" && !bytes.Contains(body, []byte(`"code":"`+r.code+`"`)) {
		t.Errorf("%s: expected error code %s: %.300s", r.name, r.code, body)
	}
	return body
}

// cancelUpload sends the headers and part of body, then closes the
// connection mid-upload.
func cancelUpload(t testing.TB, addr string, body []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", markerAuth, len(body))
	conn.Write(body[:len(body)/2])
	time.Sleep(200 * time.Millisecond)
}

// cancelInference sends a whole request and closes the connection while
// the image is in the engine.
func cancelInference(t testing.TB, addr string, body []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
		"X-API-Key: %s\r\nContent-Length: %d\r\n\r\n", markerKey, len(body))
	conn.Write(body)
	time.Sleep(300 * time.Millisecond)
}

// sendPrivacyMix sends every request of the mix and the two cancelled
// ones, and returns the response bodies by request name.
func sendPrivacyMix(t testing.TB, addr string, maxBody int) map[string][]byte {
	t.Helper()
	bodies := map[string][]byte{}
	for _, r := range privacyRequests(t, maxBody) {
		bodies[r.name] = sendPrivacyRequest(t, addr, r)
	}
	pngData := markerPNG(t)
	cancelUpload(t, addr, pngData)
	cancelInference(t, addr, pngData)
	// Let the cancelled inference finish in the engine.
	time.Sleep(3 * time.Second)
	return bodies
}

// markerForms returns each marker as sent, as base64 and as hex.
func markerForms() map[string]string {
	forms := map[string]string{}
	for _, m := range []string{markerText, markerFilename, markerAuth, markerKey, markerSig,
		markerBase64, markerBody, string(pixelPattern)} {
		forms[m] = m
		forms["base64 "+m] = base64.StdEncoding.EncodeToString([]byte(m))
		forms["hex "+m] = hex.EncodeToString([]byte(m))
		forms["HEX "+m] = strings.ToUpper(hex.EncodeToString([]byte(m)))
	}
	return forms
}

// TestPrivacyMarkers checks that no marker of a request (filename,
// credentials, PNG text, pixels, body text) shows in the daemon's logs, its
// /metrics page or any response body, through success and every error path.
// To see it fail, log the request's Authorization header in
// daemon/server.go's access log, or quote the 8 bytes from the offset in
// validateString's "invalid escape" error (daemon/jsonreq.go).
func TestPrivacyMarkers(t *testing.T) {
	model := privacyModel(t)
	bin := buildBinary(t)
	const maxBody = 2 << 20
	d := startDaemon(t, []string{bin, "serve", "--model", model,
		"--max-body", strconv.Itoa(maxBody)}, nil)

	bodies := sendPrivacyMix(t, d.addr, maxBody)
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d.stop(t)

	places := map[string]string{"log": d.stderr.String(), "metrics": string(metrics)}
	for name, body := range bodies {
		places["response "+name] = string(body)
	}
	for place, text := range places {
		for form, marker := range markerForms() {
			if strings.Contains(text, marker) {
				t.Errorf("%s contains marker %q", place, form)
			}
		}
	}
	// An error may quote a byte or two around its offset, but no part of a
	// filename or image value: no 6 bytes of those markers in a row.
	for place, text := range places {
		for _, marker := range []string{markerFilename, markerBase64} {
			for i := 0; i+6 <= len(marker); i++ {
				if strings.Contains(text, marker[i:i+6]) {
					t.Errorf("%s contains %q of marker %q", place, marker[i:i+6], marker)
					break
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", d.stderr.String())
	}
}

// memoryRegion is one mapping of /proc/PID/maps.
type memoryRegion struct {
	start, end uint64
	path       string
}

// writableRegions returns the private writable mappings of pid that are
// not backed by a file: the Go heap, goroutine stacks, mmap'd arenas and
// C allocations, everywhere a request's bytes can live.
func writableRegions(t testing.TB, pid int) []memoryRegion {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var regions []memoryRegion
	for _, line := range strings.Split(strings.TrimSpace(string(maps)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 || !strings.HasPrefix(fields[1], "rw") {
			continue
		}
		path := ""
		if len(fields) >= 6 {
			path = fields[5]
		}
		if path != "" && path != "[heap]" && !strings.HasPrefix(path, "[stack") {
			continue
		}
		var r memoryRegion
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &r.start, &r.end); err != nil {
			t.Fatalf("maps line %q: %v", line, err)
		}
		r.path = path
		regions = append(regions, r)
	}
	return regions
}

// searchMemory returns, for each needle found in the writable memory of
// pid, the addresses of its first few copies.
func searchMemory(t testing.TB, pid int, needles map[string][]byte) map[string][]uint64 {
	t.Helper()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	const chunk = 16 << 20
	const overlap = 16 << 10 // longer than every needle
	found := map[string][]uint64{}
	buf := make([]byte, chunk+overlap)
	for _, r := range writableRegions(t, pid) {
		for at := r.start; at < r.end; at += chunk {
			n := min(uint64(len(buf)), r.end-at)
			got, err := mem.ReadAt(buf[:n], int64(at))
			if err != nil && got == 0 {
				break // a guard page or a range unmapped since maps was read
			}
			for name, needle := range needles {
				data := buf[:got]
				for off := 0; len(found[name]) < 4; {
					i := bytes.Index(data[off:], needle)
					if i < 0 {
						break
					}
					found[name] = append(found[name], at+uint64(off+i))
					off += i + 1
				}
			}
		}
	}
	return found
}

// rgbaRows returns n rows of the marker image as image/png decodes them:
// RGBA, opaque.
func rgbaRows(n int) []byte {
	var row []byte
	for x := range 256 {
		for c := range 3 {
			row = append(row, pixelPattern[(x*3+c)%len(pixelPattern)])
		}
		row = append(row, 0xff)
	}
	return bytes.Repeat(row, n)
}

// jpegEnd returns the last bytes that the JPEG encoder wrote in one
// 4 KiB block, the part of a JPEG cut-out that a bufio.Writer inside
// image/jpeg keeps. Earlier blocks can also sit in the encoded buffer's
// memory from before it grew. It returns nil when that part is under 32
// bytes, too short to be a needle.
func jpegEnd(cutout []byte) []byte {
	n := len(cutout) % 4096
	if n == 0 {
		n = min(len(cutout), 4096)
	}
	if n < 32 {
		return nil
	}
	return cutout[len(cutout)-n:]
}

// TestPrivacyMemory checks that once the requests of the mix have ended, no
// copy of the image or of the request's other data is left in the daemon's
// memory, in pooled buffers or in heap memory freed by the garbage
// collector. It reads /proc/PID/mem, so it needs root or CAP_SYS_PTRACE.
//
// It searches for three rows of decoded pixels, and for the PNG bytes and
// their base64 text both past the first 4 KiB of the upload and within
// them, where fasthttp's read buffer holds them. It also searches for the
// filename, the credential headers and the markers of the small and the
// rejected bodies, for rows of the picture image/png would leave of a PNG
// cut in its image data, for the JPEG upload and for the end of its JPEG
// cut-out. To see it fail, break one wipe:
//
//   - the clear in daemon/bufpool.go's put: the JSON request's decoded PNG
//     stays in its pooled buffer;
//   - the clear in imaging/pool.go's putBytes: the decoded pixels stay;
//   - the body clear in daemon/wipe.go's wipeRequest: the upload stays in
//     fasthttp's request body;
//   - the clear(p) in daemon/readbuf.go's serverConn.Read together with
//     the clear in its wipeReadBuffer: the start of a body and credential
//     headers stay in fasthttp's read buffers;
//   - the clear of the recorded values in daemon/wipe.go's wipeRequest:
//     the credential headers stay in fasthttp's header storage;
//   - formFieldName (daemon/disposition.go) replaced by a call of
//     mime.ParseMediaType on string(value): the filename stays in freed
//     strings;
//   - imaging/decode.go's decodePNG calling png.Decode on data without
//     storedPNG: image/png's half-decoded picture of the cut PNG stays.
func TestPrivacyMemory(t *testing.T) {
	model := privacyModel(t)
	if os.Geteuid() != 0 {
		t.Skip("reading another process's memory needs root")
	}
	bin := buildBinary(t)
	const maxBody = 2 << 20
	d := startDaemon(t, []string{bin, "serve", "--model", model,
		"--max-body", strconv.Itoa(maxBody)}, nil)
	bodies := sendPrivacyMix(t, d.addr, maxBody)
	http.DefaultClient.CloseIdleConnections()

	pngData := markerPNG(t)
	b64 := base64.StdEncoding.EncodeToString(pngData)
	jpegData := markerJPEG(t)
	jpegB64 := base64.StdEncoding.EncodeToString(jpegData)
	// The decoders keep small scratch buffers of their own that are not
	// wiped: image/png (Go 1.26) reads each chunk it skips through a 4 KiB
	// array, which holds the chunk's last 4 KiB, and keeps the current and
	// previous scanline. The image needles are chosen so that they are not
	// found there. They are three rows of pixels and 8 KiB from inside the
	// noise chunk, where no 4 KiB buffer reaches. Then 1 KiB from the noise
	// chunk's start, which later reads of the chunk overwrite, and the
	// base64 text of the same bytes.
	//
	// image/png's picture of the PNG cut in its image data is RGBA: three
	// rows of it in that form. Its rows exist only when image/png decodes
	// data that then fails. The JPEG needles are 8 KiB from inside its
	// APP15 noise, and the end of the JPEG cut-out: the bytes of the last
	// 4 KiB block the encoder wrote, which a bufio.Writer inside
	// image/jpeg would keep.
	const deep, span = 48 << 10, 8 << 10
	const jpegDeep = 16 << 10
	const early, earlySpan = 600, 1 << 10
	required := map[string][]byte{
		"decoded pixels":      bytes.Repeat(pixelPattern, 3*256*3/len(pixelPattern)),
		"image/png's picture": rgbaRows(3),
		"jpeg bytes":          jpegData[jpegDeep : jpegDeep+span],
		"jpeg base64 text":    []byte(jpegB64[jpegDeep/3*4 : (jpegDeep+span)/3*4]),
		"png bytes":           pngData[deep : deep+span],
		"base64 text":         []byte(b64[deep/3*4 : (deep+span)/3*4]),
		"start of png bytes":  pngData[early : early+earlySpan],
		"start of base64":     []byte(b64[early/3*4 : (early+earlySpan)/3*4]),
		"filename":            []byte(markerFilename),
		"authorization":       []byte(markerAuth),
		"x-api-key":           []byte(markerKey),
		"x-signature":         []byte(markerSig),
		"invalid base64":      []byte(markerBase64),
		"text and large body": []byte(markerBody),
	}
	// TODO: image/png skips the tEXt chunk through its 4 KiB array, which
	// the garbage collector frees without zeroing. Assert this marker once
	// that copy is wiped.
	known := map[string][]byte{
		"png text chunk": []byte(markerText),
	}
	// The end of the JPEG cut-out is found when EncodeCutoutJPEG
	// (imaging/encode.go) passes w to jpeg.Encode instead of its
	// jpegWriter, because image/jpeg's bufio.Writer keeps it. It is also
	// found when the access log in daemon/server.go's finish calls
	// ctx.Response.Body() on a streamed response: that reads the whole
	// image into fasthttp's response buffer, which is pooled unwiped.
	if end := jpegEnd(bodies["json jpeg as jpeg"]); end != nil {
		required["end of the jpeg cut-out"] = end
	} else {
		t.Log("the JPEG cut-out's last block is too short to search for")
	}
	// Buffers go back to their pools once fasthttp has closed the response
	// stream, a moment after the client has read it: search a few times.
	pid := d.cmd.Process.Pid
	var found map[string][]uint64
	for range 5 {
		found = searchMemory(t, pid, required)
		if len(found) == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	for name, addrs := range found {
		t.Errorf("%s left in memory at %#x", name, addrs)
	}
	for name, addrs := range searchMemory(t, pid, known) {
		t.Logf("known limit: %s left in memory at %#x", name, addrs)
	}
	d.stop(t)
}
