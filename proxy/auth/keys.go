package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
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

// KeysFileName is the keys file in the workspace's data directory, beside
// the health store (proxy/store) but a file of its own: the health store
// is held open by the process that serves the proxy, while the keys file
// is opened only for the moment of a change or a re-read, so that
// `devproxy keys create` works while the proxy runs.
const KeysFileName = "keys.db"

// lockTimeout bounds how long an operation waits for another process's
// brief hold of the keys file, as proxy/store waits for its lock.
const lockTimeout = 1 * time.Second

// ErrLocked means another process held the keys file for longer than
// lockTimeout.
var ErrLocked = errors.New("another devproxy holds the keys file")

// ErrNoKey means no key has the id given.
var ErrNoKey = errors.New("no such key")

// Role is what a key may do.
type Role string

const (
	// ReadOnly keys may read: GET, HEAD, OPTIONS and the live events.
	ReadOnly Role = "read-only"
	// Admin keys may also change things.
	Admin Role = "admin"
)

// ParseRole checks a role's spelling.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case ReadOnly, Admin:
		return Role(s), nil
	}
	return "", fmt.Errorf("the role %q is not known: use %q or %q", s, ReadOnly, Admin)
}

// Key describes a key; it never holds the secret or its hash.
type Key struct {
	ID       string    `json:"id"`
	Role     Role      `json:"role"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// record is a key as stored: the Key and the SHA-256 of the plaintext.
//
// SHA-256 rather than bcrypt or argon2: those slow hashes exist to make
// guessing low-entropy passwords expensive. A key is 256 random bits, so
// no amount of guessing finds one from its hash, and a fast hash keeps
// every authenticated request fast.
type record struct {
	Key
	Hash []byte `json:"hash"`
}

// keyPrefix starts every key, so that secret scanners (and people) can
// recognise one in a paste or a commit.
const keyPrefix = "dvp_" // live.APIKeyPrefix routes a key's hub connection by it

// keyEncoding writes the key's 32 random bytes as 52 lower-case base32
// characters: no padding, nothing a shell or a URL would need to quote.
var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

var keysBucket = []byte("keys")

// lastUsedEvery is how stale a key's stored last use may be before a
// Verify writes it again: last use is for people ("used yesterday"), and
// writing the file on every request would be the slowest part of it.
const lastUsedEvery = time.Hour

// constantTimeCompare compares hashes; a variable so that a test can see
// that Verify goes through it.
var constantTimeCompare = subtle.ConstantTimeCompare

// Keys are the API keys of one workspace, kept in a bbolt file that is
// opened only while a change is written or the file is re-read. Verify
// uses the hashes cached in memory and re-reads the file when its size or
// modification time changed (a `devproxy keys` command in another
// process), at most once per second. Methods are safe for concurrent use.
type Keys struct {
	path string
	now  func() time.Time

	mu       sync.Mutex
	records  []record
	stamp    fileStamp // the file as last read
	checked  time.Time // when the stamp was last compared with the file
	readAt   time.Time // when the file was last read
	flushing bool
	writes   sync.WaitGroup // last-use writes in flight
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

// OpenKeys opens the keys file at path (KeysFileName in the data
// directory), creating it and its directory (0700, the file 0600) when
// needed, and reads the keys. The file is not held open.
func OpenKeys(path string) (*Keys, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", filepath.Dir(path), err)
	}
	k := &Keys{path: path, now: time.Now}
	if err := k.update(func(*bolt.Bucket) error { return nil }); err != nil {
		return nil, err
	}
	return k, nil
}

// Close waits for the last-use writes in flight; the file itself is not
// held open.
func (k *Keys) Close() error {
	k.writes.Wait()
	return nil
}

// Path is the keys file.
func (k *Keys) Path() string { return k.path }

// open opens the file for one transaction.
func (k *Keys) open() (*bolt.DB, error) {
	db, err := bolt.Open(k.path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open the keys file %s: another devproxy held it for %s: %w", k.path, lockTimeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open the keys file %s: %w", k.path, err)
	}
	return db, nil
}

// update runs fn in a write transaction on the keys bucket and then
// re-reads the keys into memory.
func (k *Keys) update(fn func(*bolt.Bucket) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	db, err := k.open()
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(keysBucket)
		if err != nil {
			return err
		}
		return fn(b)
	}); err != nil {
		return err
	}
	return k.readLocked(db)
}

// readLocked loads every record from db; k.mu is held.
func (k *Keys) readLocked(db *bolt.DB) error {
	var recs []record
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(keysBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("a key in %s cannot be read: %w", k.path, err)
			}
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		return err
	}
	k.records = recs
	if fi, err := os.Stat(k.path); err == nil {
		k.stamp = fileStamp{fi.Size(), fi.ModTime()}
	}
	k.checked = k.now()
	k.readAt = k.checked
	return nil
}

// rereadEvery is how often the file is read even when it looks unchanged.
const rereadEvery = 30 * time.Second

// refreshLocked re-reads the file when another process changed it; k.mu
// is held. A failure keeps the keys in memory (and is retried later).
func (k *Keys) refreshLocked() {
	now := k.now()
	if now.Sub(k.checked) < time.Second && !now.Before(k.checked) {
		return
	}
	k.checked = now
	fi, err := os.Stat(k.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			k.records = nil // deleted: no keys, no access
		}
		return
	}
	// The stamp misses a change written within the file system's clock
	// tick of the last read at the same size: re-read anyway now and then.
	if (fileStamp{fi.Size(), fi.ModTime()}) == k.stamp && now.Sub(k.readAt) < rereadEvery {
		return
	}
	db, err := bolt.Open(k.path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		return
	}
	defer db.Close()
	_ = k.readLocked(db)
}

// Create makes a key with role and name and returns its plaintext, which
// is never stored and cannot be shown again.
func (k *Keys) Create(role Role, name string) (string, Key, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", Key{}, err
	}
	if len(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", Key{}, errors.New("a key's name must be at most 100 characters, without control characters")
	}
	var plaintext string
	var rec record
	err := k.update(func(b *bolt.Bucket) error {
		for {
			secret := make([]byte, 32)
			rand.Read(secret)
			plaintext = keyPrefix + keyEncoding.EncodeToString(secret)
			sum := sha256.Sum256([]byte(plaintext))
			// The id is a prefix of the hash, not of the key: it says
			// nothing about the secret.
			id := hex.EncodeToString(sum[:4])
			if b.Get([]byte(id)) != nil {
				continue
			}
			rec = record{Key: Key{ID: id, Role: role, Name: name, Created: k.now().UTC().Truncate(time.Second)}, Hash: sum[:]}
			v, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			return b.Put([]byte(id), v)
		}
	})
	if err != nil {
		return "", Key{}, err
	}
	return plaintext, rec.Key, nil
}

// List returns the keys, oldest first, without secrets.
func (k *Keys) List() []Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshLocked()
	keys := make([]Key, len(k.records))
	for i, r := range k.records {
		keys[i] = r.Key
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return keys
}

// Lookup returns the key with id, if there is one now.
func (k *Keys) Lookup(id string) (Key, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshLocked()
	for _, r := range k.records {
		if r.ID == id {
			return r.Key, true
		}
	}
	return Key{}, false
}

// Revoke deletes the key with id; sessions signed in with it end at
// their next request. ErrNoKey when there is none.
func (k *Keys) Revoke(id string) error {
	return k.update(func(b *bolt.Bucket) error {
		if b.Get([]byte(id)) == nil {
			return fmt.Errorf("%w with the id %q in %s", ErrNoKey, id, k.path)
		}
		return b.Delete([]byte(id))
	})
}

// Verify finds the key whose plaintext is token. Every stored hash is
// compared in constant time, whatever matched before, so the time taken
// says nothing about how close a guess was.
func (k *Keys) Verify(token string) (Key, bool) {
	if !strings.HasPrefix(token, keyPrefix) || len(token) > 200 {
		return Key{}, false
	}
	sum := sha256.Sum256([]byte(token))
	k.mu.Lock()
	k.refreshLocked()
	found := -1
	for i, r := range k.records {
		if constantTimeCompare(sum[:], r.Hash) == 1 {
			found = i
		}
	}
	if found < 0 {
		k.mu.Unlock()
		return Key{}, false
	}
	now := k.now().UTC()
	stale := now.Sub(k.records[found].LastUsed) >= lastUsedEvery
	if stale {
		k.records[found].LastUsed = now
	}
	key := k.records[found].Key
	flush := stale && !k.flushing
	if flush {
		k.flushing = true
	}
	k.mu.Unlock()
	if flush {
		k.writes.Add(1)
		go k.writeLastUsed(key.ID, now)
	}
	return key, true
}

// writeLastUsed stores a key's last use, off the request's path.
func (k *Keys) writeLastUsed(id string, at time.Time) {
	defer k.writes.Done()
	defer func() {
		k.mu.Lock()
		k.flushing = false
		k.mu.Unlock()
	}()
	_ = k.update(func(b *bolt.Bucket) error {
		v := b.Get([]byte(id))
		if v == nil {
			return nil // revoked meanwhile
		}
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		r.LastUsed = at
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), v)
	})
}
