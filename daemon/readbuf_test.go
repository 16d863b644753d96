package daemon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// wipeServer is a fasthttp server configured as New configures it for
// reading requests, serving on a serverListener, whose handler echoes the
// request body. closed receives, for each connection fasthttp has
// finished with, a copy of its read buffer taken right after the wipe.
type wipeServer struct {
	addr   string
	closed chan []byte
}

// noReadBuffer replaces, on wipeServer.closed, the buffer of a closed
// connection whose read buffer was never found, so nothing was wiped.
var noReadBuffer = []byte("no read buffer")

func startWipeServer(t *testing.T) *wipeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ws := &wipeServer{addr: ln.Addr().String(), closed: make(chan []byte, 16)}
	srv := &fasthttp.Server{
		Handler:                      ws.handle,
		ReadBufferSize:               readBufferSize,
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{slog.New(slog.DiscardHandler)},
		ConnState: func(c net.Conn, state fasthttp.ConnState) {
			var buf []byte
			if sc, ok := c.(*serverConn); ok && state == fasthttp.StateClosed {
				buf = sc.readBuf
			}
			connState(c, state)
			if state != fasthttp.StateClosed {
				return
			}
			// The tests open one connection at a time, so no other
			// connection reads into buf while it is copied.
			if buf == nil {
				ws.closed <- noReadBuffer
				return
			}
			ws.closed <- bytes.Clone(buf)
		},
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(newServerListener(ln)) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
	})
	return ws
}

// handle echoes the request body. Its X-Stale response header reports
// whether the connection's read buffer still holds "Bearer " and the
// secret named by the request's X-Previous header: the Authorization
// header of an earlier request. The
// handler runs on the goroutine that reads the connection, so it may look
// at the buffer.
func (ws *wipeServer) handle(ctx *fasthttp.RequestCtx) {
	if prev := ctx.Request.Header.Peek("X-Previous"); len(prev) > 0 {
		stale := "no"
		if sc, ok := ctx.Conn().(*serverConn); !ok || sc.readBuf == nil {
			stale = "unknown"
		} else if bytes.Contains(sc.readBuf, append([]byte("Bearer "), prev...)) {
			stale = "yes"
		}
		ctx.Response.Header.Set("X-Stale", stale)
	}
	ctx.SetBody(ctx.Request.Body())
}

// waitClosed waits for the next connection fasthttp closes and fails when
// its read buffer was not found or is not zero.
func (ws *wipeServer) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case buf := <-ws.closed:
		if bytes.Equal(buf, noReadBuffer) {
			t.Fatal("the connection's read buffer was not found")
		}
		if i := bytes.IndexFunc(buf, func(r rune) bool { return r != 0 }); i >= 0 {
			t.Errorf("the read buffer is not zero after the connection closed: %q",
				buf[i:min(i+64, len(buf))])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not close the connection")
	}
}

// secretRequest returns a POST with a secret header and body.
// The extra header lines come before the secret.
func secretRequest(secret string, body []byte, extra string) string {
	return "POST /echo HTTP/1.1\r\nHost: x\r\n" + extra + "Authorization: Bearer " + secret +
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
}

// readEcho reads one response from r and checks that it is 200 with body
// want, returning its X-Stale header.
func readEcho(t *testing.T, r *bufio.Reader, want []byte) string {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo of %d bytes differs from the %d bytes sent", len(got), len(want))
	}
	return resp.Header.Get("X-Stale")
}

func dialWipeServer(t *testing.T, ws *wipeServer) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", ws.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// patternBody returns n bytes that differ from one request to the next.
func patternBody(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+seed)%26)
	}
	return b
}

func TestReadBufferWipe(t *testing.T) {
	ws := startWipeServer(t)

	t.Run("keep-alive", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		body := patternBody(1, 300)
		padding := "X-Padding: " + strings.Repeat("p", 200) + "\r\n"
		fmt.Fprint(c, secretRequest("SECRETone", body, padding))
		readEcho(t, r, body)
		// The second request is shorter than the first one's header up to
		// its secret, which the second's bytes would overwrite otherwise.
		time.Sleep(50 * time.Millisecond) // let the server wait for it
		fmt.Fprint(c, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Previous: SECRETone\r\n\r\n")
		if stale := readEcho(t, r, nil); stale != "no" {
			t.Errorf("X-Stale = %q: the buffer held the last request while idle", stale)
		}
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("pipelined", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		var all strings.Builder
		var bodies [][]byte
		for i := range 5 {
			body := patternBody(i, 100+i*700)
			bodies = append(bodies, body)
			all.WriteString(secretRequest("SECRETpipe"+strconv.Itoa(i), body, ""))
		}
		if all.Len() <= readBufferSize {
			t.Fatalf("the pipelined requests (%d bytes) fit one read buffer", all.Len())
		}
		fmt.Fprint(c, all.String())
		for _, body := range bodies {
			readEcho(t, r, body)
		}
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("large body", func(t *testing.T) {
		// Most of a body this size bypasses the buffer: bufio.Reader reads
		// straight into the body when the buffer is empty.
		c, r := dialWipeServer(t, ws)
		body := patternBody(3, 200<<10)
		fmt.Fprint(c, secretRequest("SECRETlarge", body, "Connection: close\r\n"))
		readEcho(t, r, body)
		ws.waitClosed(t)
	})

	t.Run("expect 100-continue", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		body := patternBody(4, 9000)
		req := secretRequest("SECRETexpect", nil, "Expect: 100-continue\r\n")
		req = strings.Replace(req, "Content-Length: 0", "Content-Length: 9000", 1)
		fmt.Fprint(c, req)
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("interim response %q, %v; want 100 Continue", line, err)
		}
		if _, err := r.ReadString('\n'); err != nil { // the blank line after it
			t.Fatal(err)
		}
		c.Write(body)
		readEcho(t, r, body)
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("chunked", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		body := patternBody(5, 30000)
		var req bytes.Buffer
		req.WriteString("POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRETchunk\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n")
		for rest, size := body, 1; len(rest) > 0; size *= 3 {
			n := min(size, len(rest))
			fmt.Fprintf(&req, "%x\r\n%s\r\n", n, rest[:n])
			rest = rest[n:]
		}
		req.WriteString("0\r\n\r\n")
		c.Write(req.Bytes())
		readEcho(t, r, body)
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("early close", func(t *testing.T) {
		c, _ := dialWipeServer(t, ws)
		req := secretRequest("SECRETearly", patternBody(6, 1000), "")
		fmt.Fprint(c, req[:len(req)-500])
		time.Sleep(50 * time.Millisecond)
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("header only", func(t *testing.T) {
		c, _ := dialWipeServer(t, ws)
		fmt.Fprint(c, "GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRETpart")
		time.Sleep(50 * time.Millisecond)
		c.Close()
		ws.waitClosed(t)
	})
}

// TestReadBufferHandover hands one buffer from a connection to the next,
// as fasthttp's reader pool does before the first connection is closed.
func TestReadBufferHandover(t *testing.T) {
	buf := make([]byte, readBufferSize)
	read := func(c *serverConn, peer net.Conn, data string) {
		t.Helper()
		go peer.Write([]byte(data))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != data {
			t.Fatalf("Read = %q, %v; want %q", buf[:n], err, data)
		}
	}
	aServer, aClient := net.Pipe()
	bServer, bClient := net.Pipe()
	defer aClient.Close()
	defer bClient.Close()
	a, b := newServerConn(aServer), newServerConn(bServer)

	read(a, aClient, "first connection's request")
	read(b, bClient, "second's")
	if rest := buf[len("second's"):]; !allZero(rest) {
		t.Errorf("the second connection's first read left %q of the first", rest[:20])
	}
	a.wipeReadBuffer()
	if string(buf[:len("second's")]) != "second's" {
		t.Errorf("the first connection's wipe zeroed the second's data: %q", buf[:8])
	}
	b.wipeReadBuffer()
	if !allZero(buf) {
		t.Error("the buffer is not zero after its owner's wipe")
	}
	readBufferOwners.Lock()
	_, held := readBufferOwners.m[sliceEnd(buf)]
	readBufferOwners.Unlock()
	if held {
		t.Error("the buffer is still registered after its owner's wipe")
	}
}
