// Package store keeps health reports on disk, in one bbolt file per
// workspace, with retention: the last N reports per route and nothing
// older than D days.
//
// The process that serves the proxy owns the store (bbolt takes an
// exclusive lock on the file); a second process that opens it gets
// ErrLocked within a second and should read health from the owner.
//
// # Layout
//
// The file holds one top-level bucket, "reports". Inside it each route
// has a nested bucket named by the route ("/api/"). A route's bucket maps
// a key of 8 bytes, the report's time as big-endian unix nanoseconds with
// the sign bit flipped (so that keys sort by time, even before 1970), to
// the report: an opaque JSON document that the scanner defines. The
// newest report of a route is its bucket's last key.
//
// The store does not know what a report holds; it keeps bytes.
package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/devtunnelproxy/devproxy/proxy/join"
)

// FileName is the store's file in its data directory.
const FileName = "health.db"

// lockTimeout bounds how long Open waits for another process's lock.
const lockTimeout = 1 * time.Second

// ErrLocked means another process (another devproxy) has the store open.
var ErrLocked = errors.New("another devproxy holds the store")

// reportsBucket is the top-level bucket; one nested bucket per route.
var reportsBucket = []byte("reports")

// DefaultReports is how many reports per route are kept by default.
const DefaultReports = 50

// Retention says which reports are kept: the last Reports of each route
// (0 means DefaultReports), none older than Days days (0: no age limit).
type Retention struct {
	Reports int `json:"reports"`
	Days    int `json:"days"`
}

// normal returns r with the defaults filled in.
func (r Retention) normal() Retention {
	if r.Reports <= 0 {
		r.Reports = DefaultReports
	}
	r.Days = max(r.Days, 0)
	return r
}

// Options configure Open.
type Options struct {
	Retention Retention
	// Workspace, when set, is the watched workspace folder: Open refuses
	// a directory inside it, because every write would look like an edit
	// to the watcher and trigger a reload.
	Workspace string
}

// Store is an open health store. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string

	mu        sync.Mutex
	retention Retention
}

// Entry is one stored report.
type Entry struct {
	Route  string
	At     time.Time
	Report []byte
}

// Open opens (creating when needed) the store in dir: the directory with
// mode 0700, the file with 0600. A store that another process holds
// fails within about a second with an error that wraps ErrLocked.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Workspace != "" {
		if err := CheckOutside(dir, opts.Workspace); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open the health store %s: another devproxy holds it (waited %s): %w", path, lockTimeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open the health store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(reportsBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare the health store %s: %w", path, err)
	}
	return &Store{db: db, path: path, retention: opts.Retention.normal()}, nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the file and releases the lock.
func (s *Store) Close() error { return s.db.Close() }

// SetRetention changes the retention; it applies to the next Put and Prune.
func (s *Store) SetRetention(r Retention) {
	s.mu.Lock()
	s.retention = r.normal()
	s.mu.Unlock()
}

// Retention is the retention in force, with defaults filled in.
func (s *Store) Retention() Retention {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retention
}

// timeKey is at as a key that sorts by time.
func timeKey(at time.Time) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(at.UnixNano())^(1<<63))
	return k
}

func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k)^(1<<63)))
}

// Put stores a report for route at time at, then drops the route's
// oldest reports beyond the count limit (the age limit is Prune's). Two
// reports at the same nanosecond are both kept: the second moves on by
// a nanosecond.
func (s *Store) Put(route string, at time.Time, report []byte) error {
	if route == "" {
		return errors.New("store a health report: the route is empty")
	}
	keep := s.Retention().Reports
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(reportsBucket).CreateBucketIfNotExists([]byte(route))
		if err != nil {
			return err
		}
		k := timeKey(at)
		for b.Get(k) != nil {
			at = at.Add(time.Nanosecond)
			k = timeKey(at)
		}
		if err := b.Put(k, bytes.Clone(report)); err != nil {
			return err
		}
		_, err = trim(b, keep, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("store a health report for %s in %s: %w", route, s.path, err)
	}
	return nil
}

// trim deletes the reports in b beyond the newest keep, and those
// before cutoff when it is not nil; it returns how many went.
func trim(b *bolt.Bucket, keep int, cutoff []byte) (int, error) {
	var drop [][]byte
	c := b.Cursor()
	n := 0
	for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
		n++
		if n > keep || cutoff != nil && bytes.Compare(k, cutoff) < 0 {
			drop = append(drop, bytes.Clone(k))
		}
	}
	// Deleting after the walk: a bbolt cursor may skip a key when the
	// one under it is deleted.
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(drop), nil
}

// Latest returns the newest report of each route.
func (s *Store) Latest() (map[string][]byte, error) {
	latest := map[string][]byte{}
	err := s.db.View(func(tx *bolt.Tx) error {
		top := tx.Bucket(reportsBucket)
		return top.ForEachBucket(func(route []byte) error {
			if _, v := top.Bucket(route).Cursor().Last(); v != nil {
				latest[string(route)] = bytes.Clone(v)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read the latest health reports from %s: %w", s.path, err)
	}
	return latest, nil
}

// History returns route's reports at or after since, newest first, at
// most limit of them (limit <= 0: all).
func (s *Store) History(route string, since time.Time, limit int) ([]Entry, error) {
	var out []Entry
	from := timeKey(since)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(reportsBucket).Bucket([]byte(route))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && bytes.Compare(k, from) >= 0; k, v = c.Prev() {
			if limit > 0 && len(out) == limit {
				break
			}
			out = append(out, Entry{Route: route, At: keyTime(k), Report: bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the health history of %s from %s: %w", route, s.path, err)
	}
	return out, nil
}

// Prune applies the retention to every route: the last Reports of each,
// none older than Days days before now. It returns how many reports it
// removed; routes left with none are removed too.
func (s *Store) Prune(now time.Time) (removed int, err error) {
	r := s.Retention()
	var cutoff []byte
	if r.Days > 0 {
		cutoff = timeKey(now.Add(-time.Duration(r.Days) * 24 * time.Hour))
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		top := tx.Bucket(reportsBucket)
		var empty [][]byte
		err := top.ForEachBucket(func(route []byte) error {
			b := top.Bucket(route)
			n, err := trim(b, r.Reports, cutoff)
			removed += n
			if k, _ := b.Cursor().First(); k == nil {
				empty = append(empty, bytes.Clone(route))
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, route := range empty {
			if err := top.DeleteBucket(route); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune the health store %s: %w", s.path, err)
	}
	return removed, nil
}

// DefaultDir is the data directory of the workspace at workspaceRoot:
// data/<hash>-<name> under the per-user state directory (join.StateDir:
// $DEVPROXY_STATE_DIR, $XDG_STATE_HOME/devproxy or
// ~/.local/state/devproxy), where hash is a short hash of the absolute
// workspace path (two folders of the same name get two stores) and name
// its base name (for people looking at the folder). It is never inside
// the workspace.
func DefaultDir(workspaceRoot string) (string, error) {
	abs, err := filepath.Abs(workspaceRoot)
	if err != nil {
		return "", fmt.Errorf("find the data directory of %s: %w", workspaceRoot, err)
	}
	state, err := join.StateDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' {
			return '_'
		}
		return r
	}, filepath.Base(abs))
	dir := filepath.Join(state, "data", hex.EncodeToString(sum[:6])+"-"+name)
	if err := CheckOutside(dir, abs); err != nil {
		return "", fmt.Errorf("%w (set DEVPROXY_STATE_DIR outside it, or dataDir in devproxy.json)", err)
	}
	return dir, nil
}

// CheckOutside returns an error when dir is the workspace or inside it:
// every write to the store would then reach the workspace's watcher and
// look like an edit. Symbolic links are followed as far as the paths
// exist.
func CheckOutside(dir, workspace string) error {
	d, w := resolve(dir), resolve(workspace)
	rel, err := filepath.Rel(w, d)
	if err != nil {
		return nil // on another volume
	}
	if rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("the data directory %s is inside the workspace %s; a write there would trigger a reload: choose a dataDir outside the workspace", dir, workspace)
	}
	return nil
}

// resolve makes p absolute and follows symbolic links in its longest
// existing prefix (the data directory may not exist yet).
func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for cur := abs; ; cur = filepath.Dir(cur) {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		if filepath.Dir(cur) == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}
