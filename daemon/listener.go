package daemon

import (
	"errors"
	"net"
	"sync"
)

// serverListener is the listener fasthttp serves on. It wraps each
// connection in a serverConn. Its Close does not reset the connections
// waiting in the kernel's accept queue, because a client whose connect()
// has completed may already have sent its request, and closing the
// listening socket would reset that connection. Close takes those
// connections first (on Linux, see acceptBacklog), and Accept hands them
// out before it reports the close, so each gets an HTTP response.
type serverListener struct {
	net.Listener

	// keepBuffers makes the connections skip wiping fasthttp's read and
	// write buffers, for a benchmark of that cost.
	keepBuffers bool

	mu      sync.Mutex
	closed  bool
	backlog []net.Conn
}

func newServerListener(ln net.Listener) *serverListener {
	return &serverListener{Listener: ln}
}

// Accept returns the next connection, then after Close the connections
// taken from the accept queue, then the listener's error.
func (l *serverListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		return l.newConn(c), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed && len(l.backlog) > 0 {
		c = l.backlog[0]
		l.backlog[0] = nil
		l.backlog = l.backlog[1:]
		return l.newConn(c), nil
	}
	return nil, err
}

func (l *serverListener) newConn(c net.Conn) net.Conn {
	sc := newServerConn(c)
	sc.keepBuffers = l.keepBuffers
	return sc
}

// Close takes the connections waiting in the accept queue and closes the
// listening socket. Calls after the first return nil.
func (l *serverListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.backlog = acceptBacklog(l.Listener)
	err := l.Listener.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
