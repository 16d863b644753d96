//go:build !linux

package daemon

import "net"

// acceptBacklog takes nothing from the accept queue outside Linux: closing
// the listener resets the connections still waiting in it.
//
// TODO: drain the queue on the BSDs and macOS as well.
func acceptBacklog(net.Listener) []net.Conn { return nil }
