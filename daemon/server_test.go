package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rmbgd/rmbgd/engine"
)

// syncBuffer is a log sink the server's goroutines write to concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Server listening on a loopback port.
type testServer struct {
	*Server
	url  string // "http://127.0.0.1:port"
	addr string
	logs *syncBuffer
}

// startServer starts a server for cfg on 127.0.0.1:0 and shuts it down when
// the test ends. Each setup function, if any, gets the server before it
// starts serving.
func startServer(t testing.TB, cfg Config, r Remover, setup ...func(*Server)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s, err := New(cfg, r)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, f := range setup {
		f(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: s, url: "http://" + ln.Addr().String(),
		addr: ln.Addr().String(), logs: logs}
}

var testClient = &http.Client{Timeout: 20 * time.Second}

// send makes a request and returns the response with its body read.
func send(t *testing.T, method, url, contentType string, body []byte,
	header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, data
}

// apiErrorBody is the JSON error response.
type apiErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Offset  *int   `json:"offset"`
	} `json:"error"`
}

func decodeAPIError(t *testing.T, resp *http.Response, body []byte) apiErrorBody {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var e apiErrorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e
}

// testPNG is a w×h dark image with a bright rectangle whose top-left
// corner is at (w/4, h/4) and which is w/2×h/2.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 20, G: 30, B: 40, A: 255}
			if x >= w/4 && x < w/4+w/2 && y >= h/4 && y < h/4+h/2 {
				c = color.NRGBA{R: 250, G: 240, B: 230, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jsonBody(img []byte, fields string) []byte {
	return []byte(`{"image":"` + base64.StdEncoding.EncodeToString(img) + `"` + fields + `}`)
}

var serverTimingRE = regexp.MustCompile(`^queue;dur=\d+\.\d, pre;dur=1\.5, infer;dur=2\.0, ` +
	`post;dur=0\.3, encode;dur=\d+\.\d, total;dur=\d+\.\d$`)

// checkImageResponse checks the headers of a successful binary response
// and decodes its image.
func checkImageResponse(t *testing.T, resp *http.Response, body []byte, contentType string,
	w, h int) image.Image {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type = %q, want %q", got, contentType)
	}
	if got := resp.Header.Get("X-Width"); got != strconv.Itoa(w) {
		t.Errorf("X-Width = %q, want %d", got, w)
	}
	if got := resp.Header.Get("X-Height"); got != strconv.Itoa(h) {
		t.Errorf("X-Height = %q, want %d", got, h)
	}
	if got := resp.Header.Get("X-Backend"); got != "cpu" {
		t.Errorf("X-Backend = %q, want cpu", got)
	}
	if got := resp.Header.Get("Server-Timing"); !serverTimingRE.MatchString(got) {
		t.Errorf("Server-Timing = %q, want a match of %s", got, serverTimingRE)
	}
	var img image.Image
	var err error
	if contentType == "image/jpeg" {
		img, err = jpeg.Decode(bytes.NewReader(body))
	} else {
		img, err = png.Decode(bytes.NewReader(body))
	}
	if err != nil {
		t.Fatalf("answer is not a %s: %v", contentType, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("answer is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	return img
}

func TestRemoveJSONRoundTrip(t *testing.T) {
	ts := startServer(t, Config{}, &pngRemover{})
	for _, tt := range []struct {
		name   string
		body   []byte
		ct     string
		decode func(image.Image)
	}{
		{"data URL", []byte(`{"image":"data:image/png;base64,` +
			base64.StdEncoding.EncodeToString(testPNG(t, 40, 30)) + `"}`), "application/json",
			nil},
		{"escaped and wrapped", []byte(`{"image":"` + escapeSlashes(wrapLines(
			base64.RawStdEncoding.EncodeToString(testPNG(t, 40, 30)), 76, `\r\n`)) + `"}`),
			"application/json", nil},
		{"no content type", jsonBody(testPNG(t, 40, 30), `,"output":"rgba"`), "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, "POST", ts.url+"/v1/remove", tt.ct, tt.body, nil)
			img := checkImageResponse(t, resp, body, "image/png", 40, 30)
			nrgba, ok := img.(*image.NRGBA)
			if !ok {
				t.Fatalf("cut-out is %T, want *image.NRGBA", img)
			}
			if a := nrgba.NRGBAAt(20, 15).A; a != 255 {
				t.Errorf("alpha inside the foreground = %d, want 255", a)
			}
			if a := nrgba.NRGBAAt(1, 1).A; a != 0 {
				t.Errorf("alpha in the background = %d, want 0", a)
			}
		})
	}
}

func TestRemoveJSONResponse(t *testing.T) {
	ts := startServer(t, Config{}, &pngRemover{})
	resp, body := send(t, "POST", ts.url+"/v1/remove", "application/json",
		jsonBody(testPNG(t, 40, 32), `,"output":"mask"`),
		map[string]string{"Accept": "image/png;q=0.9, application/json"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var answer struct {
		Image       string `json:"image"`
		ContentType string `json:"content_type"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		Backend     string `json:"backend"`
		Model       string `json:"model"`
		Foreground  struct {
			Left, Top, Width, Height int
		} `json:"foreground"`
		TimingMS map[string]float64 `json:"timing_ms"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"content_type", answer.ContentType, "image/png"},
		{"width", answer.Width, 40},
		{"height", answer.Height, 32},
		{"backend", answer.Backend, "cpu"},
		{"model", answer.Model, "test-threshold"},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}

	fg := answer.Foreground
	if fg.Left != 10 || fg.Top != 8 || fg.Width != 20 || fg.Height != 16 {
		t.Errorf("foreground = %+v, want {10 8 20 16}", fg)
	}
	for stage, want := range map[string]float64{"pre": 1.5, "infer": 2, "post": 0.3} {
		if got := answer.TimingMS[stage]; got != want {
			t.Errorf("timing_ms.%s = %v, want %v", stage, got, want)
		}
	}
	for _, stage := range []string{"queue", "encode", "total"} {
		if _, ok := answer.TimingMS[stage]; !ok {
			t.Errorf("timing_ms has no %q", stage)
		}
	}

	data, err := base64.StdEncoding.DecodeString(answer.Image)
	if err != nil {
		t.Fatalf("image is not base64: %v", err)
	}
	mask, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image is not a PNG: %v", err)
	}
	if _, ok := mask.(*image.Gray); !ok {
		t.Errorf("mask is %T, want *image.Gray", mask)
	}
}

func TestRemoveRawBody(t *testing.T) {
	ts := startServer(t, Config{}, &pngRemover{})
	img := testPNG(t, 24, 16)
	for _, ct := range []string{"image/png", "IMAGE/webp; q=1", "application/octet-stream", ""} {
		t.Run(ct, func(t *testing.T) {
			resp, body := send(t, "POST", ts.url+"/v1/remove", ct, img, nil)
			checkImageResponse(t, resp, body, "image/png", 24, 16)
		})
	}
}

func TestRemoveMultipart(t *testing.T) {
	ts := startServer(t, Config{}, &pngRemover{})
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.WriteField("note", "ignored"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("image", "SECRET-NAME.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(testPNG(t, 30, 20))
	if err := mw.WriteField("output", "mask"); err != nil {
		t.Fatal(err)
	}
	mw.Close()

	resp, body := send(t, "POST", ts.url+"/v1/remove", mw.FormDataContentType(), b.Bytes(), nil)
	img := checkImageResponse(t, resp, body, "image/png", 30, 20)
	if _, ok := img.(*image.Gray); !ok {
		t.Errorf("mask answer is %T, want *image.Gray", img)
	}
}

func TestRemoveQueryOverrides(t *testing.T) {
	r := &pngRemover{}
	ts := startServer(t, Config{}, r)
	img := testPNG(t, 32, 32)
	tests := []struct {
		name   string
		query  string
		fields string
		ct     string
		want   engine.Job
	}{
		{"output mask", "?output=mask", `,"output":"rgba"`, "image/png",
			engine.Job{Output: engine.OutputMask, Format: "png", Background: defaultBackground}},
		{"format jpeg", "?format=jpeg", ``, "image/jpeg",
			engine.Job{Format: "jpeg", Background: defaultBackground}},
		{"jpeg over color", "?format=jpeg&bg_color=%23ff0000", `,"bg_color":"#00ff00"`,
			"image/jpeg", engine.Job{Format: "jpeg", Background: color.RGBA{255, 0, 0, 255}}},
		{"body options", "", `,"format":"jpeg","bg_color":"#0000ff"`, "image/jpeg",
			engine.Job{Format: "jpeg", Background: color.RGBA{0, 0, 255, 255}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, "POST", ts.url+"/v1/remove"+tt.query, "application/json",
				jsonBody(img, tt.fields), nil)
			checkImageResponse(t, resp, body, tt.ct, 32, 32)
			got := *r.last.Load()
			tt.want.MaxPixels = DefaultMaxPixels
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("job = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// errorCase is one request that must fail with status and code.
type errorCase struct {
	name    string
	method  string
	path    string
	ct      string
	header  map[string]string
	body    []byte
	status  int
	code    string
	inMsg   string
	offset  int               // -1: no offset
	headers map[string]string // response headers and their values
}

func TestRemoveErrors(t *testing.T) {
	ts := startServer(t, Config{MaxBody: 1 << 20, MaxPixels: 10_000,
		Timeout: 200 * time.Millisecond}, &pngRemover{})
	good := testPNG(t, 40, 30)
	big := testPNG(t, 200, 100)

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("output", "mask")
	mw.Close()

	tests := []errorCase{
		{name: "malformed JSON", body: []byte(`{"image": "QUJD" "x"}`), ct: "application/json",
			status: 400, code: "malformed_json", inMsg: "expected ',' or '}'", offset: 17},
		{name: "missing image", body: []byte(`{"output":"mask"}`), ct: "application/json",
			status: 400, code: "missing_image"},
		{name: "empty raw body", body: nil, ct: "image/png", status: 400, code: "missing_image"},
		{name: "invalid base64", body: []byte(`{"image":"QUJD*QUJD"}`), ct: "application/json",
			status: 400, code: "invalid_base64", inMsg: "offset 4 "},
		{name: "invalid output", body: jsonBody(good, `,"output":"alpha"`),
			ct: "application/json", status: 400, code: "invalid_parameter", inMsg: `"mask"`},
		{name: "invalid query format", path: "/v1/remove?format=webp", body: good,
			ct: "image/png", status: 400, code: "invalid_parameter", inMsg: `"jpeg"`},
		{name: "multipart without image", body: mp.Bytes(), ct: mw.FormDataContentType(),
			status: 400, code: "missing_image"},
		{name: "malformed multipart", body: []byte("garbage"),
			ct: "multipart/form-data; boundary=xyz", status: 400, code: "malformed_multipart"},
		{name: "unsupported content type", body: good, ct: "text/plain", status: 415,
			code: "unsupported_format", inMsg: "Content-Type"},
		{name: "compressed body", body: good, ct: "image/png",
			header: map[string]string{"Content-Encoding": "gzip"}, status: 415,
			code: "unsupported_format"},
		{name: "unknown path", method: "GET", path: "/v2/remove", status: 404, code: "not_found"},
		{name: "GET remove", method: "GET", path: "/v1/remove", status: 405,
			code: "method_not_allowed", headers: map[string]string{"Allow": "POST"}},
		{name: "POST healthz", path: "/healthz", body: good, ct: "image/png", status: 405,
			code: "method_not_allowed", headers: map[string]string{"Allow": "GET, HEAD"}},
		{name: "body too large", body: make([]byte, 2<<20), ct: "image/png", status: 413,
			code: "payload_too_large", inMsg: "1048576 bytes"},
		{name: "too many pixels", body: jsonBody(big, ""), ct: "application/json",
			status: 413, code: "too_many_pixels", inMsg: "200×100"},
		{name: "unsupported format", body: []byte("BM\x00\x00\x00\x00"), ct: "image/bmp",
			status: 415, code: "unsupported_format", inMsg: "BMP"},
		{name: "unknown format", body: []byte("hello"), ct: "image/png", status: 415,
			code: "unsupported_format", inMsg: "not in an image format"},
		{name: "truncated PNG", body: good[:len(good)/2], ct: "image/png", status: 422,
			code: "decode_failed", inMsg: "PNG"},
		{name: "timeout", body: []byte("SLOW!"), ct: "image/png", status: 504, code: "timeout"},
		{name: "engine queue full", body: []byte("BUSY!"), ct: "image/png", status: 503,
			code: "overloaded", inMsg: "queue is full",
			headers: map[string]string{"Retry-After": "1"}},
		{name: "engine queue wait too long", body: []byte("WAIT!"), ct: "image/png",
			status: 503, code: "overloaded", inMsg: "queue is full",
			headers: map[string]string{"Retry-After": "3"}},
		{name: "internal", body: []byte("FAIL!"), ct: "image/png", status: 500,
			code: "internal", inMsg: "request id"},
		{name: "panic", body: []byte("PANIC SECRET-PIXELS"), ct: "image/png", status: 500,
			code: "internal", inMsg: "request id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.method == "" {
				tt.method = "POST"
			}
			if tt.path == "" {
				tt.path = "/v1/remove"
			}
			if tt.code != "malformed_json" {
				tt.offset = -1
			}
			checkErrorCase(t, ts, tt)

			// The daemon keeps serving after every error.
			resp, body := send(t, "POST", ts.url+"/v1/remove", "application/json",
				jsonBody(good, ""), nil)
			checkImageResponse(t, resp, body, "image/png", 40, 30)
		})
	}

	// The panic value quotes the image, so only its type may be logged.
	logs := ts.logs.String()
	if strings.Contains(logs, "SECRET-PIXELS") {
		t.Error("the log contains image bytes from the panic value")
	}
	if !strings.Contains(logs, `"msg":"request handler panicked"`) {
		t.Error("the panic was not logged")
	}
	if !strings.Contains(logs, "recoverPanic") {
		t.Error("the panic log has no stack")
	}
}

func checkErrorCase(t *testing.T, ts *testServer, tt errorCase) {
	t.Helper()
	resp, body := send(t, tt.method, ts.url+tt.path, tt.ct, tt.body, tt.header)
	if resp.StatusCode != tt.status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.status, body)
	}
	e := decodeAPIError(t, resp, body)
	if e.Error.Code != tt.code {
		t.Errorf("code = %q, want %q (message %q)", e.Error.Code, tt.code, e.Error.Message)
	}
	if !strings.Contains(e.Error.Message, tt.inMsg) {
		t.Errorf("message %q does not contain %q", e.Error.Message, tt.inMsg)
	}
	switch {
	case tt.offset < 0 && e.Error.Offset != nil:
		t.Errorf("offset = %d, want none", *e.Error.Offset)
	case tt.offset >= 0 && (e.Error.Offset == nil || *e.Error.Offset != tt.offset):
		t.Errorf("offset = %v, want %d", e.Error.Offset, tt.offset)
	}
	for k, v := range tt.headers {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if tt.status == 500 {
		id := resp.Header.Get("X-Request-Id")
		if id == "" || !strings.HasSuffix(e.Error.Message, "request id "+id) {
			t.Errorf("500 message %q does not end with its X-Request-Id %q", e.Error.Message, id)
		}
		if !strings.Contains(ts.logs.String(), `"request_id":"`+id+`"`) {
			t.Errorf("request id %s is not in the log", id)
		}
	}
}

func TestPayloadTooLarge(t *testing.T) {
	ts := startServer(t, Config{MaxBody: 1 << 20}, &pngRemover{})
	const size = 8 << 20

	check := func(t *testing.T, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413 (body %s)", resp.StatusCode, body)
		}
		if e := decodeAPIError(t, resp, body); e.Error.Code != "payload_too_large" {
			t.Errorf("code = %q, want payload_too_large", e.Error.Code)
		}
	}

	t.Run("content length", func(t *testing.T) {
		resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", make([]byte, size), nil)
		check(t, resp, body)
	})
	t.Run("chunked", func(t *testing.T) {
		// A reader of unknown length makes net/http send the body chunked.
		body := io.MultiReader(bytes.NewReader(make([]byte, size)))
		req, _ := http.NewRequest("POST", ts.url+"/v1/remove", body)
		req.Header.Set("Content-Type", "image/png")
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		check(t, resp, data)
	})
	t.Run("expect continue", func(t *testing.T) {
		resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", make([]byte, size),
			map[string]string{"Expect": "100-continue"})
		check(t, resp, body)
	})
	// A client that writes its whole body before it reads anything is the
	// case a plain close breaks, because the reset of a close with unread
	// data would destroy the response before the client reads it.
	t.Run("write all then read", func(t *testing.T) {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: test\r\n"+
			"Content-Type: image/png\r\nContent-Length: %d\r\n\r\n", size)
		if _, err := conn.Write(make([]byte, size)); err != nil {
			t.Fatalf("writing the body: %v", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		check(t, resp, data)
	})

	// The daemon keeps serving.
	resp, body := send(t, "GET", ts.url+"/healthz", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after 413s: status %d, body %s", resp.StatusCode, body)
	}
}

// postAsync posts img as image/png to base+"/v1/remove" from a goroutine
// and sends the response's status on the returned channel, or 0 when no
// response came.
func postAsync(base string, img []byte) <-chan int {
	status := make(chan int, 1)
	go func() {
		resp, err := testClient.Post(base+"/v1/remove", "image/png", bytes.NewReader(img))
		if err != nil {
			status <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	return status
}

func TestOverloaded(t *testing.T) {
	r := &pngRemover{block: make(chan struct{})}
	ts := startServer(t, Config{Concurrency: 1}, r)
	img := testPNG(t, 16, 16)

	first := postAsync(ts.url, img)
	waitFor(t, "the first request to reach the remover", func() bool {
		return r.started.Load() == 1
	})

	checkErrorCase(t, ts, errorCase{method: "POST", path: "/v1/remove", ct: "image/png",
		body: img, status: 503, code: "overloaded", offset: -1,
		headers: map[string]string{"Retry-After": "1"}})

	close(r.block)
	if status := <-first; status != http.StatusOK {
		t.Errorf("first request: status %d, want 200", status)
	}
	resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", img, nil)
	checkImageResponse(t, resp, body, "image/png", 16, 16)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startPartialRequest sends a request's header and all of its body but the
// last byte on a new connection. The returned finish sends that byte and
// reads the response.
func startPartialRequest(t *testing.T, addr, method, path, contentType string, body []byte) (
	finish func() (*http.Response, []byte)) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: test\r\nContent-Type: %s\r\n"+
		"Content-Length: %d\r\n\r\n", method, path, contentType, len(body))
	if _, err := conn.Write(body[:len(body)-1]); err != nil {
		t.Fatal(err)
	}
	return func() (*http.Response, []byte) {
		t.Helper()
		if _, err := conn.Write(body[len(body)-1:]); err != nil {
			t.Fatalf("finishing the request: %v", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp, data
	}
}

func TestShutdownDrains(t *testing.T) {
	r := &pngRemover{block: make(chan struct{})}
	logs := &syncBuffer{}
	s, err := New(Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, r)
	if err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()
	img := testPNG(t, 16, 16)

	// When the shutdown starts, one request is in the remover, two have sent
	// their headers but not all of their bodies, and one connection has
	// sent nothing yet.
	inFlight := postAsync("http://"+addr, img)
	waitFor(t, "the request to reach the remover", func() bool { return r.started.Load() == 1 })
	lateRemove := startPartialRequest(t, addr, "POST", "/v1/remove", "image/png", img)
	lateReady := startPartialRequest(t, addr, "GET", "/readyz", "text/plain", []byte("xy"))
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(50 * time.Millisecond) // let the server read the partial headers

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- s.Shutdown(ctx)
	}()
	waitFor(t, "the server to start closing", s.closing.Load)

	resp, body := lateReady()
	if resp.StatusCode != http.StatusServiceUnavailable ||
		!bytes.Contains(body, []byte(`"shutting_down"`)) {
		t.Errorf("readyz during shutdown: status %d, body %s", resp.StatusCode, body)
	}

	// A header that arrives after the close is rejected.
	silent.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(silent, "POST /v1/remove HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(img), img)
	resp, err = http.ReadResponse(bufio.NewReader(silent), nil)
	if err != nil {
		t.Fatalf("removal sent after the close: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("removal sent after the close: status %d, want 503 (%s)", resp.StatusCode, body)
	} else if e := decodeAPIError(t, resp, body); e.Error.Code != "shutting_down" {
		t.Errorf("removal sent after the close: code %q, want shutting_down", e.Error.Code)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("shutting_down answer has no Retry-After")
	}
	if !resp.Close {
		t.Error("answer during shutdown lacks Connection: close")
	}

	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v while a request was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(r.block)
	if status := <-inFlight; status != http.StatusOK {
		t.Errorf("in-flight request: status %d, want 200", status)
	}
	// The removal whose header came before the close is served.
	resp, body = lateRemove()
	checkImageResponse(t, resp, body, "image/png", 16, 16)
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestDrainKeepsServing(t *testing.T) {
	ts := startServer(t, Config{}, &pngRemover{})
	ts.SetReady(true)
	img := testPNG(t, 16, 16)

	ts.Drain()
	resp, body := send(t, "GET", ts.url+"/readyz", "", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable ||
		string(body) != `{"status":"shutting_down"}` {
		t.Errorf("readyz while draining: status %d, body %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("readyz while draining has no Retry-After")
	}
	resp, body = send(t, "POST", ts.url+"/v1/remove", "image/png", img, nil)
	checkImageResponse(t, resp, body, "image/png", 16, 16)
	if !resp.Close {
		t.Error("removal while draining lacks Connection: close")
	}
	resp, _ = send(t, "GET", ts.url+"/healthz", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz while draining: status %d, want 200", resp.StatusCode)
	}
}

func TestDrainClosesRequestInProgress(t *testing.T) {
	r := &pngRemover{block: make(chan struct{})}
	ts := startServer(t, Config{}, r)

	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := testClient.Post(ts.url+"/v1/remove", "image/png",
			bytes.NewReader(testPNG(t, 8, 8)))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- result{resp, err}
	}()
	waitFor(t, "the removal in progress", func() bool { return len(ts.slots) == 1 })
	ts.Drain()
	close(r.block)

	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.resp.StatusCode)
	}
	if !res.resp.Close {
		t.Error("a removal that began before the drain lacks Connection: close")
	}
}

func TestShutdownDeadlineCancelsRequests(t *testing.T) {
	r := &pngRemover{block: make(chan struct{})}
	s, err := New(Config{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, r)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)

	status := postAsync("http://"+ln.Addr().String(), testPNG(t, 8, 8))
	waitFor(t, "the request to reach the remover", func() bool { return r.started.Load() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if got := <-status; got != http.StatusServiceUnavailable {
		t.Errorf("cancelled request: status %d, want 503", got)
	}
}

func TestHealthReadyOpenAPI(t *testing.T) {
	ts := startServer(t, Config{}, &pngRemover{})

	resp, body := send(t, "GET", ts.url+"/healthz", "", nil, nil)
	if resp.StatusCode != 200 || string(body) != `{"status":"ok"}` {
		t.Errorf("healthz: status %d, body %s", resp.StatusCode, body)
	}

	resp, body = send(t, "GET", ts.url+"/readyz", "", nil, nil)
	if resp.StatusCode != 503 || string(body) != `{"status":"starting"}` {
		t.Errorf("readyz before SetReady: status %d, body %s", resp.StatusCode, body)
	}
	ts.SetReady(true)
	resp, body = send(t, "GET", ts.url+"/readyz", "", nil, nil)
	want := `{"status":"ready","backend":"cpu","model":"test-threshold"}`
	if resp.StatusCode != 200 || string(body) != want {
		t.Errorf("readyz after SetReady: status %d, body %s, want %s", resp.StatusCode, body, want)
	}

	resp, body = send(t, "HEAD", ts.url+"/healthz", "", nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD healthz: status %d, %d body bytes", resp.StatusCode, len(body))
	}

	resp, body = send(t, "GET", ts.url+"/openapi.json", "", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("openapi.json: status %d", resp.StatusCode)
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	for _, route := range []string{routeRemove, routeHealth, routeReady, routeMetrics,
		routeOpenAPI} {
		if _, ok := doc.Paths[route]; !ok {
			t.Errorf("openapi.json has no path %s", route)
		}
	}
}

func TestAccessLog(t *testing.T) {
	ts := startServer(t, Config{MaxBody: 1 << 20}, &pngRemover{})
	img := testPNG(t, 20, 20)
	secrets := map[string]string{
		"Authorization": "Bearer SECRET-AUTH",
		"X-API-Key":     "SECRET-KEY",
		"X-Signature":   "t=1,kid=a,v1=SECRET-SIGNATURE",
	}
	b64 := base64.StdEncoding.EncodeToString(img)
	requests := []struct {
		method, path, ct string
		body             []byte
	}{
		{"POST", "/v1/remove", "application/json",
			[]byte(`{"image":"` + b64 + `","filename":"SECRET-FILE.png"}`)},
		{"POST", "/v1/remove?output=SECRET-QUERY", "application/json",
			[]byte(`{"image":"` + b64 + `","filename":"SECRET-FILE.png"}`)},
		{"POST", "/v1/remove", "application/json", []byte(`{"filename":"SECRET-FILE\q"}`)},
		{"POST", "/v1/remove", "image/png", make([]byte, 2<<20)},
		{"GET", "/SECRET-PATH", "", nil},
		{"GET", "/healthz", "", nil},
	}
	for _, r := range requests {
		send(t, r.method, ts.url+r.path, r.ct, r.body, secrets)
	}

	logs := ts.logs.String()
	for _, secret := range []string{"SECRET", b64[:16]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["msg"] == "request" {
			lines = append(lines, rec)
		}
	}
	if len(lines) != len(requests) {
		t.Fatalf("%d access log lines, want %d:\n%s", len(lines), len(requests), logs)
	}
	wantKeys := []string{"time", "level", "msg", "client_ip", "method", "route", "status",
		"req_bytes", "resp_bytes", "duration_ms", "batch_size"}
	for i, rec := range lines {
		if len(rec) != len(wantKeys) {
			t.Errorf("line %d has keys %v, want exactly %v", i, keysOf(rec), wantKeys)
		}
		for _, k := range wantKeys {
			if _, ok := rec[k]; !ok {
				t.Errorf("line %d has no %q", i, k)
			}
		}
	}
	wantRoute := []string{"/v1/remove", "/v1/remove", "/v1/remove", "/v1/remove", "-",
		"/healthz"}
	wantStatus := []float64{200, 400, 400, 413, 404, 200}
	wantBatch := []float64{1, 0, 0, 0, 0, 0}
	for i, rec := range lines {
		if rec["route"] != wantRoute[i] || rec["status"] != wantStatus[i] {
			t.Errorf("line %d: route %v status %v, want %s %v", i, rec["route"], rec["status"],
				wantRoute[i], wantStatus[i])
		}
		if rec["method"] != requests[i].method {
			t.Errorf("line %d: method %v, want %s", i, rec["method"], requests[i].method)
		}
		if rec["batch_size"] != wantBatch[i] {
			t.Errorf("line %d: batch_size %v, want %v", i, rec["batch_size"], wantBatch[i])
		}
		if rec["client_ip"] != "127.0.0.1" {
			t.Errorf("line %d: client_ip %v, want 127.0.0.1", i, rec["client_ip"])
		}
	}
	if got := lines[0]["req_bytes"].(float64); got < float64(len(b64)) {
		t.Errorf("req_bytes = %v, want at least %d", got, len(b64))
	}
	if got := lines[0]["resp_bytes"].(float64); got <= 0 {
		t.Errorf("resp_bytes = %v, want > 0", got)
	}
}

func keysOf(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// captureRemover keeps the image slice of each job, which a real Remover
// must not do, so that a test can check the daemon wiped it.
type captureRemover struct {
	pngRemover
	images [][]byte
}

func (r *captureRemover) Remove(ctx context.Context, job engine.Job) (*engine.Result, error) {
	r.images = append(r.images, job.Image)
	return r.pngRemover.Remove(ctx, job)
}

func TestRemoveWipesRequestData(t *testing.T) {
	img := testPNG(t, 12, 12)
	tests := []struct {
		name, ct string
		body     []byte
		status   int
	}{
		{"raw", "image/png", img, 200},
		{"JSON", "application/json", jsonBody(img, ""), 200},
		{"JSON escaped", "application/json",
			[]byte(`{"image":"` + escapeSlashes(base64.StdEncoding.EncodeToString(img)) + `"}`),
			200},
		{"failed decode", "image/png", img[:len(img)-20], 422},
		{"bad parameter", "application/json", jsonBody(img, `,"format":"tiff"`), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &captureRemover{}
			s, err := New(Config{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, r)
			if err != nil {
				t.Fatal(err)
			}
			// The handler runs on this goroutine, so the test can look at
			// fasthttp's request buffer right after it returns.
			var req fasthttp.Request
			req.Header.SetMethod("POST")
			req.SetRequestURI("/v1/remove")
			req.Header.SetContentType(tt.ct)
			req.SetBody(tt.body)
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, nil, nil)

			s.handle(&ctx)
			if got := ctx.Response.StatusCode(); got != tt.status {
				t.Fatalf("status = %d, want %d (%s)", got, tt.status, ctx.Response.Body())
			}
			if !allZero(ctx.Request.Body()) {
				t.Error("the request body was not wiped")
			}
			for i, image := range r.images {
				if !allZero(image) {
					t.Errorf("the image buffer of job %d was not wiped", i)
				}
			}
			ctx.Response.Reset() // releases the result
		})
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestShutdownBeforeServe(t *testing.T) {
	for _, tt := range []struct {
		name  string
		delay time.Duration // between starting Serve and Shutdown
	}{
		{"before Serve", -1},
		{"racing Serve", 0},
		{"after Serve", 20 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))},
				&pngRemover{})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			if tt.delay < 0 {
				if err := s.Shutdown(context.Background()); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
				served <- s.Serve(ln)
			} else {
				go func() { served <- s.Serve(ln) }()
				time.Sleep(tt.delay)
				if err := s.Shutdown(context.Background()); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			}
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve still running after Shutdown")
			}
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				c.Close()
				t.Error("the listener still accepts connections")
			}
		})
	}
}
