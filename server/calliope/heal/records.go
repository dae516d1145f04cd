package heal

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Confidence rules (issue 12): a Beta(1,1) prior, so a pattern never
// tried stands at 0.5; a pattern below DisableBelow after at least
// DisableAfter attempts is disabled until Enable.
const (
	DisableBelow = 0.5
	DisableAfter = 4
)

var (
	bucketAttempts = []byte("attempts") // key: big-endian sequence; value: Attempt JSON
	bucketPatterns = []byte("patterns") // key: pattern id; value: patternState JSON
)

// Attempt is one recorded outcome.
type Attempt struct {
	Pattern string    `json:"pattern"`
	Route   string    `json:"route"`
	At      time.Time `json:"at"`
	Success bool      `json:"success"`
}

// patternState is a pattern's running totals, kept beside the attempts
// so Stats reads one small bucket.
type patternState struct {
	Attempts  int  `json:"attempts"`
	Successes int  `json:"successes"`
	Disabled  bool `json:"disabled"`
	// Enabled is set by Enable: the user switched the pattern back on,
	// which holds until the confidence, counted from then, falls again.
	Enabled bool `json:"enabled"`
	// Base* are the totals when Enable was called; the rule judges the
	// attempts since.
	BaseAttempts  int `json:"baseAttempts"`
	BaseSuccesses int `json:"baseSuccesses"`
}

// PatternStats is a pattern's record, for a command to show.
type PatternStats struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Attempts   int     `json:"attempts"`
	Successes  int     `json:"successes"`
	Confidence float64 `json:"confidence"`
	Disabled   bool    `json:"disabled"`
	Source     string  `json:"source"` // "builtin" or the pattern file's path
}

// Confidence is (successes+1)/(attempts+2).
func Confidence(successes, attempts int) float64 {
	return float64(successes+1) / float64(attempts+2)
}

// Records is the record of healing attempts, in a bbolt file of its own
// (in the data directory, never the watched workspace). It is safe for
// concurrent use.
type Records struct {
	db  *bolt.DB
	now func() time.Time
	mu  sync.Mutex
	// user are the workspace's patterns, for Stats' titles and sources.
	user []UserPattern
}

// OpenRecords opens (creating) the records file at path.
func OpenRecords(path string) (*Records, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open healing records %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketAttempts, bucketPatterns} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open healing records %s: %w", path, err)
	}
	return &Records{db: db, now: time.Now}, nil
}

// Close closes the file.
func (r *Records) Close() error { return r.db.Close() }

// SetUserPatterns tells Stats about the workspace's patterns.
func (r *Records) SetUserPatterns(ps []UserPattern) {
	r.mu.Lock()
	r.user = append([]UserPattern(nil), ps...)
	r.mu.Unlock()
}

func getState(tx *bolt.Tx, id string) patternState {
	var s patternState
	if v := tx.Bucket(bucketPatterns).Get([]byte(id)); v != nil {
		json.Unmarshal(v, &s)
	}
	return s
}

func putState(tx *bolt.Tx, id string, s patternState) error {
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketPatterns).Put([]byte(id), v)
}

// Record stores one attempt's outcome and applies the disabling rule.
func (r *Records) Record(pattern, route string, success bool) error {
	a := Attempt{Pattern: pattern, Route: route, At: r.now().UTC(), Success: success}
	return r.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAttempts)
		seq, _ := b.NextSequence()
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], seq)
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := b.Put(key[:], v); err != nil {
			return err
		}
		s := getState(tx, pattern)
		s.Attempts++
		if success {
			s.Successes++
		}
		n, k := s.Attempts-s.BaseAttempts, s.Successes-s.BaseSuccesses
		if n >= DisableAfter && Confidence(k, n) < DisableBelow {
			s.Disabled, s.Enabled = true, false
		}
		return putState(tx, pattern, s)
	})
}

// Enable switches a disabled pattern back on; the rule then judges only
// the attempts that follow.
func (r *Records) Enable(pattern string) error {
	return r.db.Update(func(tx *bolt.Tx) error {
		s := getState(tx, pattern)
		s.Disabled, s.Enabled = false, true
		s.BaseAttempts, s.BaseSuccesses = s.Attempts, s.Successes
		return putState(tx, pattern, s)
	})
}

// Disabled reports whether pattern is switched off.
func (r *Records) Disabled(pattern string) bool {
	return r.disabledSet()[pattern]
}

func (r *Records) disabledSet() map[string]bool {
	out := map[string]bool{}
	r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPatterns).ForEach(func(k, v []byte) error {
			var s patternState
			if json.Unmarshal(v, &s) == nil && s.Disabled {
				out[string(k)] = true
			}
			return nil
		})
	})
	return out
}

// Attempts returns every recorded attempt, oldest first.
func (r *Records) Attempts() ([]Attempt, error) {
	var out []Attempt
	err := r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAttempts).ForEach(func(_, v []byte) error {
			var a Attempt
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// Stats is every known pattern's record: the built-ins, the workspace's,
// then any other pattern with recorded attempts (a user pattern since
// removed), by catalogue order then id.
func (r *Records) Stats() []PatternStats {
	r.mu.Lock()
	user := r.user
	r.mu.Unlock()
	states := map[string]patternState{}
	r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPatterns).ForEach(func(k, v []byte) error {
			var s patternState
			if json.Unmarshal(v, &s) == nil {
				states[string(k)] = s
			}
			return nil
		})
	})
	var out []PatternStats
	listed := map[string]bool{}
	add := func(id, title, source string) {
		s := states[id]
		listed[id] = true
		out = append(out, PatternStats{ID: id, Title: title, Attempts: s.Attempts, Successes: s.Successes,
			Confidence: Confidence(s.Successes, s.Attempts), Disabled: s.Disabled, Source: source})
	}
	for _, p := range Builtins() {
		add(p.ID, p.Title, Builtin)
	}
	for _, u := range user {
		if !listed[u.ID] {
			add(u.ID, u.Title, u.File)
		}
	}
	var rest []string
	for id := range states {
		if !listed[id] {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	for _, id := range rest {
		add(id, id, "")
	}
	return out
}
