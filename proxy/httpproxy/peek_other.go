//go:build !unix

package httpproxy

import "net"

// socketPeek cannot look at the socket on this platform; a pooled
// connection is trusted by its empty read buffer alone (upConn.br).
type socketPeek struct{}

func newSocketPeek(net.Conn) *socketPeek { return &socketPeek{} }

func (*socketPeek) pendingOrClosed() bool { return false }
