package calliope

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// History keeps a workspace's conversations in a bbolt file in the data
// directory, never in the workspace (a watched folder would see every
// turn). It is bounded: the newest MaxConversations conversations of at
// most MaxTurns turns each; older ones are pruned as new ones arrive.
// Everything in it was scrubbed (Scrub) before it was kept.
type History struct {
	db *bolt.DB
	mu sync.Mutex // one Append at a time: read, change, write
}

// Bounds of a History.
const (
	MaxConversations = 50
	MaxTurns         = 100
)

var bucketConversations = []byte("conversations")

// Turn is one message of a conversation.
type Turn struct {
	Role    string    `json:"role"` // "user" or "assistant"
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
	Stopped bool      `json:"stopped,omitempty"` // the answer was cancelled part way
	Offline bool      `json:"offline,omitempty"`
	Sources []Source  `json:"sources,omitempty"`
}

// ConversationInfo describes a kept conversation.
type ConversationInfo struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"` // its first question, shortened
	Updated time.Time `json:"updated"`
	Turns   int       `json:"turns"`
}

type storedConversation struct {
	ID      string    `json:"id"`
	Updated time.Time `json:"updated"`
	Turns   []Turn    `json:"turns"`
}

// OpenHistory opens (or creates) the history at path, a file in the data
// directory.
func OpenHistory(path string) (*History, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("calliope history %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("calliope history %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketConversations)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("calliope history %s: %w", path, err)
	}
	return &History{db: db}, nil
}

// Close closes the file.
func (h *History) Close() error { return h.db.Close() }

// Append adds turns to the conversation id (creating it), keeping its
// newest MaxTurns and the newest MaxConversations conversations.
func (h *History) Append(id string, turns ...Turn) error {
	if id == "" {
		return errors.New("a conversation needs an id")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConversations)
		var c storedConversation
		if raw := b.Get([]byte(id)); raw != nil {
			if err := json.Unmarshal(raw, &c); err != nil {
				return fmt.Errorf("conversation %s: %w", id, err)
			}
		}
		c.ID = id
		c.Turns = append(c.Turns, turns...)
		if n := len(c.Turns); n > MaxTurns {
			c.Turns = slices.Clone(c.Turns[n-MaxTurns:])
		}
		c.Updated = time.Now().UTC()
		if len(turns) > 0 && turns[len(turns)-1].At.After(c.Updated) {
			c.Updated = turns[len(turns)-1].At
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), raw); err != nil {
			return err
		}
		return prune(b)
	})
}

// prune deletes the conversations beyond the newest MaxConversations.
func prune(b *bolt.Bucket) error {
	infos, err := list(b)
	if err != nil || len(infos) <= MaxConversations {
		return err
	}
	for _, info := range infos[MaxConversations:] {
		if err := b.Delete([]byte(info.ID)); err != nil {
			return err
		}
	}
	return nil
}

// Conversation is the conversation id's turns, oldest first; nil when
// there is none.
func (h *History) Conversation(id string) []Turn {
	var c storedConversation
	h.db.View(func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bucketConversations).Get([]byte(id)); raw != nil {
			return json.Unmarshal(raw, &c)
		}
		return nil
	})
	return c.Turns
}

// List describes the kept conversations, the most recently updated first.
func (h *History) List() ([]ConversationInfo, error) {
	var out []ConversationInfo
	err := h.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = list(tx.Bucket(bucketConversations))
		return err
	})
	return out, err
}

func list(b *bolt.Bucket) ([]ConversationInfo, error) {
	out := []ConversationInfo{}
	err := b.ForEach(func(k, v []byte) error {
		var c storedConversation
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("conversation %s: %w", k, err)
		}
		info := ConversationInfo{ID: c.ID, Updated: c.Updated, Turns: len(c.Turns)}
		for _, t := range c.Turns {
			if t.Role == "user" {
				info.Title = quoteTitle(t.Text)
				break
			}
		}
		out = append(out, info)
		return nil
	})
	slices.SortStableFunc(out, func(a, b ConversationInfo) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, err
}

// quoteTitle is a question shortened to a title.
func quoteTitle(s string) string {
	r := []rune(s)
	if len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}
