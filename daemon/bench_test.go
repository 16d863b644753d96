package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
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
