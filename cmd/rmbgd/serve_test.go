package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/daemon"
	"github.com/rmbgd/rmbgd/engine"
)

// gatedPipeline is a small pipeline for the serve lifecycle: Warm waits
// for warmed to close and then returns warmErr, and Remove returns a 1×1
// mask for every job. The real engine needs the 88 MB model and several
// seconds to load, and the lifecycle does not depend on it.
type gatedPipeline struct {
	warmed  chan struct{}
	warmErr error
}

func (p *gatedPipeline) Backend() string { return "cpu" }
func (p *gatedPipeline) Model() string   { return "gated" }
func (p *gatedPipeline) Close() error    { return nil }

func (p *gatedPipeline) Warm(ctx context.Context) error {
	select {
	case <-p.warmed:
		return p.warmErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *gatedPipeline) Remove(context.Context, engine.Job) (*engine.Result, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		return nil, err
	}
	return &engine.Result{Data: b.Bytes(), ContentType: "image/png", Width: 1, Height: 1,
		Backend: "cpu", Model: "gated"}, nil
}

// lockedBuffer is a log sink for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeEngineLifecycle(t *testing.T) {
	eng := &gatedPipeline{warmed: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serveEngine(ctx, func() { close(stopped) }, daemon.Config{},
			10*time.Millisecond, eng, ln, slog.New(slog.NewJSONHandler(logs, nil)))
	}()

	if status, _ := get(t, url+"/healthz"); status != http.StatusOK {
		t.Errorf("healthz during warm-up: status %d, want 200", status)
	}
	if status, _ := get(t, url+"/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("readyz during warm-up: status %d, want 503", status)
	}

	close(eng.warmed)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := get(t, url+"/readyz")
		if status == http.StatusOK {
			if !strings.Contains(body, `"backend":"cpu"`) {
				t.Errorf("readyz body %s does not name the backend", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d after the warm-up", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Post(url+"/v1/remove", "image/png", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("removal: status %d, want 200", resp.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serveEngine = %v, want nil after the signal", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("serveEngine did not stop the signal handler")
	}
	for _, msg := range []string{"config", "listening", "engine warmed", "ready",
		"draining", "shutting down", "stopped"} {
		if !strings.Contains(logs.String(), `"msg":"`+msg+`"`) {
			t.Errorf("the log has no %q line:\n%s", msg, logs.String())
		}
	}
}

func TestServeEngineWarmFailure(t *testing.T) {
	eng := &gatedPipeline{warmed: make(chan struct{}), warmErr: errors.New("no memory")}
	close(eng.warmed)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = serveEngine(context.Background(), func() {}, daemon.Config{}, time.Second, eng, ln,
		slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "warm-up: no memory") {
		t.Errorf("serveEngine = %v, want the warm-up error", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener is still open after the failed warm-up")
	}
}
