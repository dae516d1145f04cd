package tunnel

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Bounds on what is kept of a child's output: it may print forever.
const (
	maxLine  = 4096 // longer lines are cut
	tailSize = 8    // the last lines, shown when the child fails
)

// child is a process the Manager started: ngrok or cloudflared.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's error, once exited is closed
	out    *lineWriter
}

// startChild starts path with args and the environment plus env, in its
// own process group, which ctx's end kills (SIGTERM, then SIGKILL after 2
// s). Every line of its output, secrets blanked out, goes to onLine (when
// not nil) and to the debug log; the last few are kept for errors.
func (m *Manager) startChild(ctx context.Context, name, path string, args, env []string, onLine func(string)) (*child, error) {
	c := &child{name: name, exited: make(chan struct{})}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	c.out = &lineWriter{onLine: func(line string) {
		line = m.redact(line)
		m.opts.Log.Debug("tunnel agent output", "agent", name, "line", line)
		if onLine != nil {
			onLine(line)
		}
	}}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	ownProcessGroup(cmd)
	cmd.Cancel = func() error { return stopGroup(cmd, c.exited) }
	cmd.WaitDelay = 3 * time.Second // output pipes held by a grandchild
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.cmd = cmd
	m.opts.Log.Info("tunnel agent started", "agent", name, "pid", cmd.Process.Pid, "args", strings.Join(args, " "))
	go func() {
		c.err = cmd.Wait()
		c.out.flush()
		close(c.exited)
	}()
	return c, nil
}

// failure describes the child's exit with its last lines of output.
func (c *child) failure() string {
	msg := fmt.Sprintf("%s exited", c.name)
	if c.err != nil {
		msg = fmt.Sprintf("%s exited: %v", c.name, c.err)
	}
	if tail := c.out.tail(); len(tail) > 0 {
		msg += "; its last output: " + strings.Join(tail, " | ")
	}
	return msg
}

// lineWriter splits output into lines of at most maxLine bytes and keeps
// the last tailSize of them: memory stays bounded however much is
// written.
type lineWriter struct {
	onLine func(string)

	mu   sync.Mutex
	buf  []byte
	skip bool // the current line was cut; drop the rest of it
	last [tailSize]string
	n    int
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			if !w.skip {
				w.emit()
			}
			w.skip = false
			continue
		}
		if w.skip {
			continue
		}
		w.buf = append(w.buf, b)
		if len(w.buf) >= maxLine {
			w.emit()
			w.skip = true
		}
	}
	return len(p), nil
}

// emit hands the buffered line on; w.mu is held.
func (w *lineWriter) emit() {
	line := strings.TrimRight(string(w.buf), "\r")
	w.buf = w.buf[:0]
	w.last[w.n%tailSize] = line
	w.n++
	if w.onLine != nil {
		w.onLine(line)
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 && !w.skip {
		w.emit()
	}
}

// tail returns the last lines, oldest first, empty ones left out.
func (w *lineWriter) tail() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for i := max(0, w.n-tailSize); i < w.n; i++ {
		if l := strings.TrimSpace(w.last[i%tailSize]); l != "" {
			out = append(out, l)
		}
	}
	return out
}
