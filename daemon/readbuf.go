package daemon

import (
	"net"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// readBufferSize is the fasthttp server's ReadBufferSize: the size of the
// bufio.Reader through which fasthttp reads each connection. That buffer
// holds the request line, the header and the start of the body (of a body
// that fits, all of it), and fasthttp returns it to a sync.Pool without
// zeroing it.
const readBufferSize = 4096

// writeBufferSize is the fasthttp server's WriteBufferSize: the size of the
// bufio.Writer through which fasthttp writes each response. That buffer
// holds the response header and the start and end of the body (of a small
// body, all of it), and fasthttp returns it to a sync.Pool without zeroing
// it.
const writeBufferSize = 4096

// serverConn is a connection the server accepted. It wipes what fasthttp's
// read buffer holds of its requests and what its write buffer holds of
// their responses, and its Close lingers once markLinger has been called
// (see linger.go).
//
// fasthttp (v1.79) reads a connection through one pooled bufio.Reader from
// its first read to the end of serving it, because the server sets neither
// ReduceMemoryUsage nor StreamRequestBody. The reader's buffer is found
// from the first Read: bufio.Reader.fill calls Read(buf[w:]), so every Read
// into the buffer ends where the buffer ends, and the first one, on an
// empty reader, passes the whole buffer. Reads that end elsewhere are
// bufio.Reader.Read's direct reads into the body, which the handler wipes.
// The buffer is wiped in two ways:
//
//   - Read zeroes buf[w:] before it reads into it. bufio keeps no data
//     there, only bytes of requests already parsed, so a keep-alive
//     connection waiting for its next request holds none of the last one.
//   - wipeReadBuffer zeroes the whole buffer once the connection has been
//     served. fasthttp returns the reader to its pool before the worker
//     closes the connection, so another connection may already be reading
//     into it by then: see readBufferOwners.
//
// The write buffer is simpler: bufio.Writer.Flush writes buf[:n], whose
// capacity is the buffer's size, and keeps nothing of what was written, so
// Write zeroes those bytes once written. bufio writes a caller's slice
// directly only when it is longer than the whole buffer, so such a slice
// has a larger capacity and is left alone.
//
// Together with the wipe of fasthttp's header storage (see wipe.go), this
// costs about 1 µs per request. BenchmarkSmallRequestWipe sends a 1 KiB
// removal request with three credential headers on loopback. It measured
// 22.1 µs instead of 21.2 µs on one keep-alive connection, and 123 µs
// either way on a new connection per request. These are medians of 6 runs
// on a shared 2-core AMD EPYC virtual machine, so they are noisy.
type serverConn struct {
	net.Conn
	linger atomic.Bool

	// The read state is used by the goroutine that serves the connection
	// only: in Read, then in wipeReadBuffer, which the StateClosed hook
	// calls on the same worker goroutine once serving has ended.
	readSeen bool    // a Read has been made
	readBuf  []byte  // fasthttp's read buffer, whole; nil when unknown or wiped
	readEnd  uintptr // the address right after readBuf's last byte

	// writeBuf is fasthttp's write buffer, whole, once Write has seen it.
	// Only tests read it.
	writeBuf []byte

	// keepBuffers turns the wipes off, for a benchmark of their cost.
	keepBuffers bool
}

func newServerConn(c net.Conn) *serverConn {
	return &serverConn{Conn: c}
}

// readBufferOwners maps the end address of each read buffer some
// connection has read into, and has not wiped, to the last such
// connection. A connection zeroes a buffer at the end only while it is
// still the owner, and one that takes a buffer over becomes its owner
// under the same lock before it writes to it. So a late wipe never zeroes
// bytes of the next connection, and the next connection's first Read
// zeroes what the previous owner left. The map's values hold the buffers,
// so no address in it can be reused by another allocation.
var readBufferOwners = struct {
	sync.Mutex
	m map[uintptr]*serverConn
}{m: map[uintptr]*serverConn{}}

// Read reads from the connection. A read into fasthttp's read buffer is
// preceded by zeroing the part of the buffer it passes.
func (c *serverConn) Read(p []byte) (int, error) {
	if len(p) == 0 || c.keepBuffers {
		return c.Conn.Read(p)
	}
	if !c.readSeen {
		c.readSeen = true
		if len(p) == readBufferSize && cap(p) == readBufferSize {
			c.claimReadBuffer(p)
		}
	}
	if c.readBuf != nil && sliceEnd(p) == c.readEnd {
		clear(p)
	}
	return c.Conn.Read(p)
}

// Write writes p to the connection. When p is the content of fasthttp's
// write buffer, the bytes written are zeroed afterwards.
func (c *serverConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if cap(p) == writeBufferSize && !c.keepBuffers {
		clear(p[:n])
		c.writeBuf = p[:cap(p)]
	}
	return n, err
}

// claimReadBuffer makes c the owner of buf, the whole of fasthttp's read
// buffer, before c writes to it.
func (c *serverConn) claimReadBuffer(buf []byte) {
	end := sliceEnd(buf)
	readBufferOwners.Lock()
	readBufferOwners.m[end] = c
	readBufferOwners.Unlock()
	c.readBuf, c.readEnd = buf, end
}

// wipeReadBuffer zeroes fasthttp's read buffer unless another connection
// has taken it over, in which case that connection's first Read has
// zeroed it. Call it once fasthttp has stopped serving c.
func (c *serverConn) wipeReadBuffer() {
	if c.readBuf == nil {
		return
	}
	readBufferOwners.Lock()
	if readBufferOwners.m[c.readEnd] == c {
		clear(c.readBuf)
		delete(readBufferOwners.m, c.readEnd)
	}
	readBufferOwners.Unlock()
	c.readBuf = nil
}

// connState is the fasthttp server's ConnState hook. fasthttp calls it
// with StateClosed on the worker goroutine right after closing the
// connection, once serving it has ended and its reader is back in the
// pool: the moment to wipe that reader's buffer. A hijacked connection,
// which the daemon never makes, would not be wiped.
func connState(c net.Conn, state fasthttp.ConnState) {
	if state != fasthttp.StateClosed {
		return
	}
	if sc, ok := c.(*serverConn); ok {
		sc.wipeReadBuffer()
	}
}

// sliceEnd returns the address right after the last byte of p's capacity.
// It identifies a buffer without holding a pointer to it.
func sliceEnd(p []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(p))) + uintptr(cap(p))
}
