package auth

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditFileName is the audit log's file in the data directory. It is the
// owner's, held open while it serves, like the health store.
const AuditFileName = "audit.db"

// DefaultAuditEntries is how many entries the audit log keeps.
const DefaultAuditEntries = 10000

var auditBucket = []byte("audit")

// Entry is one audited change: who did what to what, when, and how it
// ended. No field may hold a secret: Record refuses text that looks like
// an API key or a bearer token (it is replaced by "[redacted]").
type Entry struct {
	At        time.Time `json:"at"`
	Principal string    `json:"principal"` // Principal.String(): "local", "key:ID (NAME)"
	Action    string    `json:"action"`    // "apps/install", "sign-in", "keys/revoke"
	Target    string    `json:"target,omitempty"`
	Result    string    `json:"result"` // "ok", "refused", "failed"
	Detail    string    `json:"detail,omitempty"`
}

// Audit is the audit log: bbolt, entries keyed by a sequence number, the
// oldest dropped beyond Max.
type Audit struct {
	db  *bolt.DB
	max int
	now func() time.Time
}

// OpenAudit opens (creating) the audit log at path with room for max
// entries (0: DefaultAuditEntries). A log another process holds fails
// within a second with an error wrapping ErrLocked.
func OpenAudit(path string, max int) (*Audit, error) {
	if max <= 0 {
		max = DefaultAuditEntries
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", filepath.Dir(path), err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open the audit log %s: another devproxy holds it: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open the audit log %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(auditBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare the audit log %s: %w", path, err)
	}
	return &Audit{db: db, max: max, now: time.Now}, nil
}

// Close closes the file.
func (a *Audit) Close() error { return a.db.Close() }

// redact replaces anything that looks like a key or a bearer token.
func redact(s string) string {
	if !strings.Contains(s, keyPrefix) && !strings.Contains(strings.ToLower(s), "bearer") {
		return s
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if strings.Contains(f, keyPrefix) || strings.EqualFold(f, "bearer") || (i > 0 && strings.EqualFold(fields[i-1], "bearer")) {
			fields[i] = "[redacted]"
		}
	}
	return strings.Join(fields, " ")
}

// Record appends e, with At set to now when zero. When ctx carries a
// Principal and e has none, the principal is the context's.
func (a *Audit) Record(ctx context.Context, e Entry) error {
	if e.At.IsZero() {
		e.At = a.now()
	}
	e.At = e.At.UTC()
	if e.Principal == "" {
		if p, ok := PrincipalOf(ctx); ok {
			e.Principal = p.String()
		}
	}
	e.Principal, e.Action, e.Target, e.Result, e.Detail =
		redact(e.Principal), redact(e.Action), redact(e.Target), redact(e.Result), redact(e.Detail)
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return a.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), v); err != nil {
			return err
		}
		// Keys are sequence numbers: everything at or below seq-max is
		// beyond the bound.
		if seq <= uint64(a.max) {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq-uint64(a.max); k, _ = c.First() {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

// List returns the entries at or after since (zero: all), oldest first,
// at most limit of them, the newest ones (limit <= 0: all).
func (a *Audit) List(since time.Time, limit int) ([]Entry, error) {
	var out []Entry
	err := a.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(auditBucket).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if e.At.Before(since) {
				break
			}
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// Export writes every entry to w as JSON (one array) or CSV (a header
// row, then one row per entry; a cell a spreadsheet would run as a
// formula is prefixed with a quote).
func (a *Audit) Export(w io.Writer, format string) error {
	entries, err := a.List(time.Time{}, 0)
	if err != nil {
		return err
	}
	switch format {
	case "json":
		if entries == nil {
			entries = []Entry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"at", "principal", "action", "target", "result", "detail"})
		for _, e := range entries {
			cw.Write([]string{e.At.Format(time.RFC3339Nano), cell(e.Principal), cell(e.Action), cell(e.Target), cell(e.Result), cell(e.Detail)})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("the audit log exports as json or csv, not %q", format)
}

// cell keeps a spreadsheet from running a cell as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
