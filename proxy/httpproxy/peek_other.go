//go:build !unix

package httpproxy

import "net"

// pendingOrClosed cannot peek at the socket on this platform; a pooled
// connection is trusted only by its empty read buffer (upConn.br).
func pendingOrClosed(net.Conn) bool { return false }
