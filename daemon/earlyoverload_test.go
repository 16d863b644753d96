package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// exchange sends a request's header and body on conn and returns the final
// response with its body read. With expect, the header carries Expect:
// 100-continue and the body goes out only after 100 Continue, which
// continued reports.
func exchange(t *testing.T, conn net.Conn, head string, body []byte, expect bool) (
	resp *http.Response, respBody []byte, continued bool) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if expect {
		head = strings.Replace(head, "\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n", 1)
	}
	fmt.Fprint(conn, head)
	r := bufio.NewReader(conn)
	if !expect {
		conn.Write(body)
	}
	for {
		var err error
		if resp, err = http.ReadResponse(r, nil); err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		if resp.StatusCode != http.StatusContinue {
			break
		}
		continued = true
		conn.Write(body)
	}
	defer resp.Body.Close()
	respBody, _ = io.ReadAll(resp.Body)
	return resp, respBody, continued
}

// dial opens a connection to the server and closes it when the test ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestEarlyOverloadKeepsHeaderErrors checks that a removal whose header
// alone makes it fail gets that error, not the early 503, when the queue
// is full as the header arrives: no retry would mend it. With Expect:
// 100-continue it is invited to send its body and gets the error then.
func TestEarlyOverloadKeepsHeaderErrors(t *testing.T) {
	r := &pngRemover{}
	r.full.Store(true)
	ts := startServer(t, Config{}, r)
	img := testPNG(t, 8, 6)
	for _, tt := range []struct {
		name, target, header string
		status               int
	}{
		{"unsupported Content-Type", "/v1/remove", "Content-Type: text/plain\r\n",
			http.StatusUnsupportedMediaType},
		{"Content-Encoding", "/v1/remove", "Content-Type: image/png\r\nContent-Encoding: gzip\r\n",
			http.StatusUnsupportedMediaType},
		{"invalid X-Request-Timeout-Ms", "/v1/remove",
			"Content-Type: image/png\r\nX-Request-Timeout-Ms: abc\r\n", http.StatusBadRequest},
		{"invalid query argument", "/v1/remove?output=sketch", "Content-Type: image/png\r\n",
			http.StatusBadRequest},
	} {
		for _, expect := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, Expect %v", tt.name, expect), func(t *testing.T) {
				head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n",
					tt.target, tt.header, len(img))
				resp, body, continued := exchange(t, dial(t, ts.addr), head, img, expect)
				if resp.StatusCode != tt.status {
					t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
				}
				if expect && !continued {
					t.Error("no 100 Continue before the error")
				}
			})
		}
	}
}

// TestEarlyOverloadAfterShutdown checks that a removal whose header
// arrives after Shutdown began gets 503 shutting_down, as Shutdown
// documents, even while the queue is still full of the jobs it drains,
// with or without Expect: 100-continue.
func TestEarlyOverloadAfterShutdown(t *testing.T) {
	r := &pngRemover{block: make(chan struct{})}
	ts := startServer(t, Config{}, r)
	img := testPNG(t, 16, 16)

	inFlight := postAsync(ts.url, img)
	waitFor(t, "the request to reach the remover", func() bool { return r.started.Load() == 1 })

	// Connections that have begun their header, so that Shutdown does not
	// close them as idle.
	conns := []net.Conn{dial(t, ts.addr), dial(t, ts.addr)}
	for _, conn := range conns {
		fmt.Fprint(conn, "POST /v1/remove HTTP/1.1\r\n")
	}
	time.Sleep(50 * time.Millisecond)

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- ts.Shutdown(ctx)
	}()
	waitFor(t, "the server to start closing", ts.closing.Load)
	r.full.Store(true) // the queue is still full of the jobs being drained

	for i, conn := range conns {
		expect := i == 1
		head := fmt.Sprintf("Host: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n",
			len(img))
		resp, body, _ := exchange(t, conn, head, img, expect)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("removal sent after the close, Expect %v: status %d (%s), want 503",
				expect, resp.StatusCode, body)
		} else if e := decodeAPIError(t, resp, body); e.Error.Code != "shutting_down" {
			t.Errorf("removal sent after the close, Expect %v: code %q, want shutting_down",
				expect, e.Error.Code)
		}
	}

	r.full.Store(false)
	close(r.block)
	if status := <-inFlight; status != http.StatusOK {
		t.Errorf("in-flight request: status %d, want 200", status)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
