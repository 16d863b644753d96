package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/daemon"
	"github.com/rmbgd/rmbgd/engine"
)

// slowPipeline takes delay for every removal, or until the job's context
// ends, so that a load keeps requests in progress across a shutdown.
type slowPipeline struct {
	delay time.Duration
}

func (p *slowPipeline) Backend() string            { return "cpu" }
func (p *slowPipeline) Model() string              { return "slow" }
func (p *slowPipeline) Close() error               { return nil }
func (p *slowPipeline) Warm(context.Context) error { return nil }

func (p *slowPipeline) Remove(ctx context.Context, _ engine.Job) (*engine.Result, error) {
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		return nil, err
	}
	return &engine.Result{Data: b.Bytes(), ContentType: "image/png", Width: 1, Height: 1,
		Backend: "cpu", Model: "slow", BatchSize: 1}, nil
}

// closeRecorder is a TCP listener that records when it was closed. It
// keeps the listener's SyscallConn, which the daemon uses to take the
// connections waiting in the accept queue before it closes.
type closeRecorder struct {
	*net.TCPListener
	closedAt atomic.Int64 // Unix nanoseconds, 0 while open
}

func (l *closeRecorder) Close() error {
	l.closedAt.CompareAndSwap(0, time.Now().UnixNano())
	return l.TCPListener.Close()
}

// outcome is one request of the load.
type outcome struct {
	sent   time.Time // when its connection was established
	status int       // 0 when no response came
	err    error     // why no response came
}

// removeOnce sends one removal on a new connection and reads the response.
// A dial error means the request was never sent and is returned as such.
func removeOnce(addr string, body []byte) (outcome, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return outcome{}, err
	}
	defer conn.Close()
	o := outcome{sent: time.Now()}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	_, err = fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"+
		"Content-Type: image/png\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	if err != nil {
		o.err = fmt.Errorf("write: %w", err)
		return o, nil
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		o.err = fmt.Errorf("read: %w", err)
		return o, nil
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		o.err = fmt.Errorf("read body: %w", err)
		return o, nil
	}
	o.status = resp.StatusCode
	return o, nil
}

func TestSignalDuringLoadLosesNothing(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &closeRecorder{TCPListener: raw.(*net.TCPListener)}
	addr := raw.Addr().String()
	eng := &slowPipeline{delay: 20 * time.Millisecond}
	ctx, signal := context.WithCancel(context.Background())
	defer signal()
	done := make(chan error, 1)
	const (
		drainDelay = time.Second
		clients    = 16
	)
	go func() {
		// Enough concurrency for every client, so that no request is
		// rejected as overloaded.
		cfg := daemon.Config{Timeout: 5 * time.Second, Concurrency: 4 * clients}
		done <- serveEngine(ctx, func() {}, cfg, drainDelay, eng, ln,
			slog.New(slog.NewJSONHandler(io.Discard, nil)))
	}()
	waitReady(t, "http://"+addr)

	// Clients send removals in a loop, each on a new connection, until the
	// listener is gone.
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
	)
	var body bytes.Buffer
	png.Encode(&body, image.NewGray(image.Rect(0, 0, 4, 4)))
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				o, err := removeOnce(addr, body.Bytes())
				if err != nil {
					// A connect() in progress when the listener closes
					// fails with a reset; neither sent a request.
					if !errors.Is(err, syscall.ECONNREFUSED) &&
						!errors.Is(err, syscall.ECONNRESET) {
						t.Errorf("dial: %v, want success or connection refused", err)
					}
					return
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			}
		}()
	}

	time.Sleep(200 * time.Millisecond)
	signaled := time.Now()
	signal()
	// /readyz turns 503 while the listener is still open.
	var readyz503 time.Time
	for readyz503.IsZero() && time.Since(signaled) < drainDelay {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatalf("readyz during the drain: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			readyz503 = time.Now()
		}
	}
	if readyz503.IsZero() {
		t.Error("readyz did not turn 503 during the drain delay")
	}

	wg.Wait()
	if err := <-done; err != nil {
		t.Errorf("serveEngine = %v, want nil", err)
	}
	closedAt := time.Unix(0, ln.closedAt.Load())
	if ln.closedAt.Load() == 0 {
		t.Fatal("the listener was never closed")
	}
	if !readyz503.IsZero() && !readyz503.Before(closedAt) {
		t.Errorf("readyz turned 503 at %v, after the listener closed at %v", readyz503, closedAt)
	}

	var ok, okDuringDrain, rejected int
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			t.Errorf("request sent %v after the signal got no response: %v",
				o.sent.Sub(signaled), o.err)
		case o.status == http.StatusOK:
			ok++
			if o.sent.After(signaled) {
				okDuringDrain++
			}
		case o.status == http.StatusServiceUnavailable || o.status == http.StatusGatewayTimeout:
			rejected++
		default:
			t.Errorf("request sent %v after the signal: status %d, want 200, 503 or 504",
				o.sent.Sub(signaled), o.status)
		}
	}
	t.Logf("%d requests: %d served (%d after the signal), %d rejected", len(outcomes), ok,
		okDuringDrain, rejected)
	if okDuringDrain == 0 {
		t.Error("no request sent during the drain delay was served")
	}
}

// waitReady polls /readyz until it responds 200.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the server did not become ready")
}
