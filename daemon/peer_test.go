package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/engine"
)

// causeRemover blocks each job until its context ends and reports the
// context's cause.
type causeRemover struct {
	pngRemover
	started chan struct{}
	causes  chan error
}

func (r *causeRemover) Remove(ctx context.Context, job engine.Job) (*engine.Result, error) {
	if string(job.Image) != "WAIT" {
		return r.pngRemover.Remove(ctx, job)
	}
	r.started <- struct{}{}
	<-ctx.Done()
	r.causes <- context.Cause(ctx)
	return nil, ctx.Err()
}

func TestClientCloseCancelsJob(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the daemon watches for closed connections on Linux only")
	}
	r := &causeRemover{started: make(chan struct{}, 1), causes: make(chan error, 1)}
	ts := startServer(t, Config{Timeout: 20 * time.Second}, r)

	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
		"Content-Length: 4\r\n\r\nWAIT")
	select {
	case <-r.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not start")
	}
	start := time.Now()
	conn.Close()

	select {
	case cause := <-r.causes:
		if cause != errClientGone {
			t.Errorf("job cancelled with cause %v, want %v", cause, errClientGone)
		}
		// Several poll intervals: a bound that scheduling delays on a busy
		// machine stay under, far below the 20 s deadline.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the job was cancelled %v after the client left", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not cancelled after its client closed the connection")
	}

	waitFor(t, "the access log line of status 499", func() bool {
		return strings.Contains(ts.logs.String(), `"status":499`)
	})
	resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", testPNG(t, 4, 3), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("next request: status %d (%s), want 200", resp.StatusCode, body)
	}
}

func TestWaitingClientNotCancelled(t *testing.T) {
	// A job that outlasts several poll intervals while its client waits
	// must finish: the watch must not take an open, idle connection for
	// a closed one.
	ts := startServer(t, Config{Timeout: 5 * peerPollInterval}, &pngRemover{})
	resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png",
		append([]byte(nil), triggerSlow...), nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d (%s), want 504 from the deadline, not a cancellation",
			resp.StatusCode, body)
	}
}
