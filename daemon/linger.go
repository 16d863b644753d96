package daemon

import (
	"io"
	"net"
	"sync/atomic"
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

// lingerConn is a connection whose Close lingers once markLinger has been
// called; otherwise Close closes at once.
type lingerConn struct {
	net.Conn
	linger atomic.Bool
}

// markLinger makes the next Close a lingering close.
func (c *lingerConn) markLinger() { c.linger.Store(true) }

// Close closes the connection. A lingering close returns at once and
// finishes in its own goroutine, so the server's worker is not held.
func (c *lingerConn) Close() error {
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
		_, _ = io.CopyN(io.Discard, c.Conn, lingerMaxBytes)
		_ = c.Conn.Close()
	}()
	return nil
}

// markLinger marks c for a lingering close when it is a lingerConn.
func markLinger(c net.Conn) {
	if lc, ok := c.(*lingerConn); ok {
		lc.markLinger()
	}
}
