package httpproxy

// Streaming: copying bodies piece by piece as they arrive (server-sent
// events, large answers, uploads) and WebSocket tunnels.

import (
	"io"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// copyFlushing copies src to dst piece by piece, flushing after each, so
// that whatever arrives is passed on at once (streamed bodies, server-sent
// events). It returns nil at the end of src.
func copyFlushing(dst io.Writer, flush interface{ Flush() error }, src io.Reader) error {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	for {
		n, err := src.Read(*buf)
		if n > 0 {
			if _, werr := dst.Write((*buf)[:n]); werr != nil {
				return werr
			}
			if werr := flush.Flush(); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// switchProtocols completes a WebSocket upgrade: the client connection is
// taken over, the upstream's 101 goes to the client, and bytes flow both
// ways until either side closes. Shutdown closes both connections.
func (p *Proxy) switchProtocols(x *exchange, up *upConn, rh *responseHead, d *routing.Decision) {
	c := x.c
	x.hijacked = true
	x.status = 101 // for the access log
	x.headWritten()
	c.state.Store(stateHijacked)
	w := c.bw
	w.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for _, f := range rh.Fields {
		switch strings.ToLower(f.Name) {
		case "content-length", "transfer-encoding", "date", "server":
			continue
		}
		w.WriteString(f.Name)
		w.WriteString(": ")
		writeSafe(w, f.Value)
		w.WriteString("\r\n")
	}
	for _, h := range d.AddHeaders {
		if h.Value != "" && h.Always {
			w.WriteString(h.Name)
			w.WriteString(": ")
			writeSafe(w, h.Value)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	defer c.nc.Close()
	defer up.Conn.Close()
	if err := w.Flush(); err != nil {
		return
	}
	// From here on the tunnel has no deadlines: the flush above set the
	// client's send timeout, and a WebSocket may be quiet for hours.
	up.rd.extend(up.Conn, 0)
	up.wd.extend(up.Conn, 0)
	c.rd.extend(c.nc, 0)
	c.wd.extend(c.nc, 0)
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(c.nc, up.br) // what the upstream sends, buffered bytes first
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(up.Conn, c.br) // what the client sends, buffered bytes first
		if cw, ok := up.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	// One side is finished; give the other a moment to drain, then end
	// both, and wait for the copy that is left: the client's buffers go
	// back to a pool when this returns.
	select {
	case <-done:
		return
	case <-time.After(5 * time.Second):
	}
	c.nc.Close()
	up.Conn.Close()
	<-done
}
