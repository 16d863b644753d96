package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/rmbgd/rmbgd/engine"
)

// fixedRemover returns the same small result for every job, so that a
// benchmark through it measures the daemon alone.
type fixedRemover struct{ data []byte }

func (r fixedRemover) Backend() string { return "cpu" }
func (r fixedRemover) Model() string   { return "fixed" }
func (r fixedRemover) Remove(context.Context, engine.Job) (*engine.Result, error) {
	return &engine.Result{Data: r.data, ContentType: "image/png", Width: 1, Height: 1,
		Backend: "cpu", Model: "fixed"}, nil
}

// BenchmarkRemoveRoundTrip measures one request through a real listening
// server and net/http client: body parsing, the response and the access
// log, with a 1 MiB image and a 64 KiB result.
func BenchmarkRemoveRoundTrip(b *testing.B) {
	img := testPayload(1 << 20)
	b64 := base64.StdEncoding.EncodeToString(img)
	cases := []struct {
		name, ct string
		body     []byte
		accept   string
	}{
		{"raw", "image/png", img, ""},
		{"json", "application/json", []byte(`{"image":"` + b64 + `"}`), ""},
		{"json escaped", "application/json", []byte(`{"image":"` + escapeSlashes(b64) + `"}`),
			""},
		{"json answer", "application/json", []byte(`{"image":"` + b64 + `"}`),
			"application/json"},
	}
	ts := startServer(b, Config{}, fixedRemover{data: testPayload(64 << 10)})
	// The access log stays on, as in production, but is not kept.
	ts.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("POST", ts.url+"/v1/remove", bytes.NewReader(c.body))
				req.Header.Set("Content-Type", c.ct)
				if c.accept != "" {
					req.Header.Set("Accept", c.accept)
				}
				resp, err := testClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkSmallRequestWipe measures a small removal request (1 KiB body,
// three credential headers, 1 KiB result) through a real listening server
// and a minimal client. It runs with and without the wiping of fasthttp's
// read buffers and header storage, on one keep-alive connection and on a
// new connection per request. Compare the two settings' ns/op.
func BenchmarkSmallRequestWipe(b *testing.B) {
	body := testPayload(1 << 10)
	request := []byte("POST /v1/remove HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
		"Content-Type: image/png\r\nAuthorization: Bearer 0123456789abcdef\r\n" +
		"X-API-Key: 0123456789abcdef\r\nX-Signature: t=1,kid=k,v1=0123456789abcdef\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	for _, conns := range []string{"keep-alive", "new connection"} {
		for _, wipe := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/wipe=%v", conns, wipe), func(b *testing.B) {
				s, err := New(Config{Logger: slog.New(slog.DiscardHandler)},
					fixedRemover{data: testPayload(1 << 10)})
				if err != nil {
					b.Fatal(err)
				}
				s.keepRequestData = !wipe
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				go s.Serve(ln)
				defer s.Shutdown(context.Background())

				var c net.Conn
				var r *bufio.Reader
				b.SetBytes(int64(len(request)))
				for b.Loop() {
					if c == nil {
						if c, err = net.Dial("tcp", ln.Addr().String()); err != nil {
							b.Fatal(err)
						}
						r = bufio.NewReader(c)
					}
					if _, err := c.Write(request); err != nil {
						b.Fatal(err)
					}
					resp, err := http.ReadResponse(r, nil)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
					if conns == "new connection" {
						c.Close()
						c = nil
					}
				}
				if c != nil {
					c.Close()
				}
			})
		}
	}
}
