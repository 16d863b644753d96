package daemon

import (
	"io"
	"net"
	"time"
)

// When fasthttp rejects a request before reading its body (a body over
// MaxBody, a malformed header), it writes the error response and closes the
// connection while the client may still be sending. Closing a socket with
// unread data makes the kernel send a TCP reset, and a reset that arrives
// before the client has read the response discards it: the client sees
// "connection reset" instead of the JSON 413. A lingering close avoids that:
// shut down the write side (the response is already flushed, so the FIN
// follows it), read and discard what the client still sends for a bounded
// time and amount, then close.
const (
	lingerTimeout  = 2 * time.Second
	lingerMaxBytes = 64 << 20
)

// markLinger makes the next Close a lingering close.
func (c *serverConn) markLinger() { c.linger.Store(true) }

// Close closes the connection. A lingering close returns at once and
// finishes in its own goroutine, so the server's worker is not held.
func (c *serverConn) Close() error {
	if !c.linger.Load() {
		return c.Conn.Close()
	}
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok {
		return c.Conn.Close()
	}
	if err := cw.CloseWrite(); err != nil {
		return c.Conn.Close()
	}
	go func() {
		// The deadline bounds the drain; its error only ends it early.
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		drain(c.Conn, lingerMaxBytes)
		_ = c.Conn.Close()
	}()
	return nil
}

// drain reads and discards up to limit bytes from r until an error. The
// bytes are request data, so they go through a buffer of its own that is
// zeroed at the end, not through io.Discard's pooled buffers, which are
// never zeroed.
func drain(r io.Reader, limit int64) {
	buf := make([]byte, 16<<10)
	defer clear(buf)
	for n := int64(0); n < limit; {
		m, err := r.Read(buf[:min(int64(len(buf)), limit-n)])
		n += int64(m)
		if err != nil {
			return
		}
	}
}

// markLinger marks c for a lingering close when it is a serverConn.
func markLinger(c net.Conn) {
	if sc, ok := c.(*serverConn); ok {
		sc.markLinger()
	}
}
