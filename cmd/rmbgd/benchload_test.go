package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/daemon"
)

func TestBenchLoadAgainstDaemon(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveEngine(ctx, func() {}, daemon.Config{}, 0,
			&slowPipeline{delay: 5 * time.Millisecond}, ln,
			slog.New(slog.NewJSONHandler(io.Discard, nil)))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveEngine: %v", err)
		}
	}()
	waitReady(t, "http://"+ln.Addr().String())

	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.png")
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
	if err := os.WriteFile(photo, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, mode := range [][]string{
		{"--concurrency", "2", "--requests", "6"},
		{"--rate", "40", "--duration", "150ms", "--poisson"},
	} {
		t.Run(mode[0], func(t *testing.T) {
			report := filepath.Join(dir, "report"+mode[0]+".json")
			args := append([]string{"bench", "load", "--url",
				"http://" + ln.Addr().String() + "/v1/remove", "--image", photo, "--json", report},
				mode...)
			var out bytes.Buffer
			if status := run(args, &out, &out); status != 0 {
				t.Fatalf("exit status %d:\n%s", status, out.String())
			}
			if !strings.Contains(out.String(), "latency OK:") {
				t.Errorf("no latency line in the output:\n%s", out.String())
			}
			raw, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Sent    int            `json:"sent"`
				OK      int            `json:"ok"`
				Errors  map[string]int `json:"errors"`
				Latency struct {
					P50  float64 `json:"p50"`
					P999 float64 `json:"p99_9"`
				} `json:"latency_ms"`
			}
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatalf("JSON report: %v\n%s", err, raw)
			}
			if rep.Sent == 0 || rep.OK != rep.Sent || len(rep.Errors) != 0 {
				t.Errorf("sent %d, OK %d, errors %v; want every request OK", rep.Sent, rep.OK,
					rep.Errors)
			}
			if rep.Latency.P50 <= 0 || rep.Latency.P999 < rep.Latency.P50 {
				t.Errorf("latency p50 %v p99.9 %v, want 0 < p50 <= p99.9", rep.Latency.P50,
					rep.Latency.P999)
			}
		})
	}
}
