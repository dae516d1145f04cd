package routing

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch follows changes to the route folders, devproxy.json and
// .devproxy/resolutions.json of the workspace's watched folders
// (FolderSpec.Watched) until ctx ends. Changes are collected for
// debounce (editors write a file in several steps), then only the changed
// paths are re-read and changed (when not nil) receives the new table, as
// every Subscribe callback does. The watches follow the workspace: a
// folder added by SetFolders, or a route folder that devproxy.json names,
// is watched once the workspace has read it. Watch returns once the
// watches are in place; the work continues in a goroutine, and done is
// closed when it has stopped.
func (w *Workspace) Watch(ctx context.Context, debounce time.Duration, changed func(*RouteTable)) (done <-chan struct{}, err error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w.addWatches(fw)
	// Every served table may come from other folders or other settings
	// (SetFolders, SetDefaults, a changed devproxy.json). Subscribers run
	// under the workspace's lock, so the watches are added here.
	rewatch := make(chan struct{}, 1)
	unsubscribe := w.SubscribeServed(func(*RouteTable) {
		select {
		case rewatch <- struct{}{}:
		default:
		}
	})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer fw.Close()
		defer unsubscribe()
		pending := map[string]bool{}
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-rewatch:
				w.addWatches(fw)
			case ev, ok := <-fw.Events:
				if !ok {
					return
				}
				if ev.Op&fsnotify.Create != 0 {
					if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
						// A route folder (or .devproxy) appeared: watch
						// it. Reload rescans for folder events, this one
						// and a folder that goes away with its files.
						w.addWatches(fw)
					}
				}
				pending[ev.Name] = true
				if timer == nil {
					timer = time.NewTimer(debounce)
				} else {
					timer.Reset(debounce)
				}
				fire = timer.C
			case <-fw.Errors:
				// Lost events (queue overflow): rescan everything.
				pending[""] = true
				if timer == nil {
					timer = time.NewTimer(debounce)
				} else {
					timer.Reset(debounce)
				}
				fire = timer.C
			case <-fire:
				fire = nil
				var t *RouteTable
				if pending[""] {
					t = w.Load()
				} else {
					paths := make([]string, 0, len(pending))
					for p := range pending {
						paths = append(paths, p)
					}
					t = w.Reload(paths...)
				}
				clear(pending)
				if changed != nil {
					changed(t)
				}
			}
		}
	}()
	return stopped, nil
}

// addWatches watches, in every watched folder, the folder itself,
// .devproxy and every existing folder named by the route globs. Adding a
// watch twice is harmless.
func (w *Workspace) addWatches(fw *fsnotify.Watcher) {
	w.mu.Lock()
	var dirs []string
	for _, f := range w.folders {
		if !f.watched {
			continue
		}
		dirs = append(dirs, f.root, f.abs(".devproxy"))
		for _, kind := range []FileKind{OverrideFile, AppFile} {
			for _, g := range globs(&f.disk.config, kind) {
				dirs = append(dirs, f.abs(GlobDir(g)))
			}
		}
	}
	w.mu.Unlock()
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			fw.Add(d)
		}
	}
}

// GlobDir is the folder part of a glob before any pattern character:
// "apps/*.conf" is "apps", "routes/{a,b}/*.conf" is "routes".
func GlobDir(g string) string {
	g = filepath.ToSlash(g)
	if i := strings.IndexAny(g, "*?[{"); i >= 0 {
		g = g[:i]
	}
	if i := strings.LastIndexByte(g, '/'); i >= 0 {
		return g[:i]
	}
	return "."
}
