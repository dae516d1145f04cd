// Package knowledge is Calliope's retrieval: Markdown documents (the
// product's embedded docs, the workspace's README and docs) cut into chunks
// that follow their headings, a bleve full-text index and embedding vectors
// kept in the data directory, and hybrid search that fuses both rankings by
// reciprocal rank fusion.
//
// On disk, in the directory given to Open:
//
//	knowledge.bleve/  the full-text index (bleve, scorch): a chunk's text and heading path
//	knowledge.db      bbolt: per document its SHA-256 and chunk list; per
//	                  (embedder name, chunk hash) the vector a provider returned
//
// Update reindexes only the documents whose SHA changed and asks the
// embedder only for chunk texts it has no vector for, so after one document
// changes only that document's new chunks are embedded, and reopening needs
// no embedding at all. Without a provider's embedder, vectors come from
// latent semantic analysis over the indexed chunks (lsa.go), rebuilt in
// memory when the corpus changes: hybrid retrieval works offline with
// nothing to download.
//
// The package knows nothing of models, chat or routing.
package knowledge

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	bolt "go.etcd.io/bbolt"
)

// Doc is a Markdown document to index. Path names it in answers:
// "docs/guides/vite.md" for the embedded docs, "workspace:README.md" for the
// workspace's own.
type Doc struct{ Path, Text string }

// Chunk is a piece of a Doc: a section under one heading path, or part of a
// long one.
type Chunk struct {
	ID, Doc, Heading, Text string
	Hash                   string // sha256 of Text, hex
}

// Hit is a search result.
type Hit struct {
	Chunk
	Score                    float64 // the fused score (SearchFullText: bleve's; SearchVector: the cosine)
	FullTextRank, VectorRank int     // 1-based; 0 when absent from that list
}

// Embedder turns texts into vectors, one per text, in order.
type Embedder interface {
	Name() string // keys stored vectors: another name re-embeds
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Options configure an Index.
type Options struct {
	// Embedder is a provider's embedding model; nil uses the built-in latent
	// semantic analysis.
	Embedder Embedder
	// LSADimensions is the built-in model's number of dimensions (default
	// 100; over the embedded docs, 50 to 230 all retrieve alike); ignored
	// with an Embedder.
	LSADimensions int
	// Candidates is how many hits each ranking contributes to the fusion
	// (default 50).
	Candidates int
	// EmbedBatch is the most texts sent to the Embedder in one call (default 64).
	EmbedBatch int
}

// UpdateStats says what an Update did.
type UpdateStats struct {
	DocsChanged   int // new or changed documents, reindexed
	DocsRemoved   int // documents no longer given, removed
	DocsUnchanged int
	// ChunksEmbedded counts the texts sent to the Embedder (always 0 for
	// the built-in model, which ModelRebuilt reports instead).
	ChunksEmbedded int
	ModelRebuilt   bool
}

// ErrLocked is returned (wrapped) by Open when another process holds the
// index.
var ErrLocked = errors.New("the knowledge index is in use by another process")

// rrfK is the constant of reciprocal rank fusion (Cormack, Clarke and
// Büttcher 2009): a hit at rank r adds 1/(rrfK+r).
const rrfK = 60

const (
	bucketDocs    = "docs"
	bucketVectors = "vectors"
	// lsaName marks hits' vectors from the built-in model; it never keys
	// stored vectors, since the model changes with the corpus.
	lsaName = "builtin-lsa"
)

// Index is an open knowledge index. Its methods are safe for concurrent use;
// Updates run one at a time and searches see either the state before an
// Update or the state after it.
type Index struct {
	dir      string
	db       *bolt.DB
	ft       bleve.Index
	embedder Embedder
	opts     Options

	update sync.Mutex // serialises Update

	mu    sync.RWMutex
	state *corpus
}

// corpus is an immutable snapshot of what is indexed.
type corpus struct {
	chunks map[string]Chunk // by ID
	docs   map[string]docRecord
	// Vectors, unit length, in one flat slice: vecIDs[i]'s vector is
	// vecs[i*dim:(i+1)*dim].
	vecIDs []string
	vecs   []float32
	dim    int
	lsa    *lsaModel // the built-in model, nil with an Embedder
}

// docRecord is a document's entry in bbolt.
type docRecord struct {
	SHA    string  `json:"sha"`
	Chunks []Chunk `json:"chunks"`
}

// Open opens (or creates) the index in dir. It fails within about a second,
// wrapping ErrLocked, when another process has it open.
func Open(dir string, opts Options) (*Index, error) {
	if opts.LSADimensions <= 0 {
		opts.LSADimensions = 100
	}
	if opts.Candidates <= 0 {
		opts.Candidates = 50
	}
	if opts.EmbedBatch <= 0 {
		opts.EmbedBatch = 64
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("knowledge index: %w", err)
	}
	dbPath := filepath.Join(dir, "knowledge.db")
	// The bbolt file is opened first and its lock guards the bleve index
	// too: bleve's own store would wait for ever on a held lock.
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (another devproxy serving this workspace?)", dbPath, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dbPath, err)
	}
	x := &Index{dir: dir, db: db, embedder: opts.Embedder, opts: opts}
	if err := x.openFullText(); err != nil {
		db.Close()
		return nil, err
	}
	if err := x.load(); err != nil {
		x.Close()
		return nil, err
	}
	// A full-text index with no documents recorded beside it (knowledge.db
	// deleted, or lost in a crash) holds chunks no Update would remove.
	if n, err := x.ft.DocCount(); err == nil && n > 0 && len(x.state.docs) == 0 {
		if err := x.recreateFullText(); err != nil {
			x.Close()
			return nil, err
		}
	}
	return x, nil
}

func (x *Index) recreateFullText() error {
	path := filepath.Join(x.dir, "knowledge.bleve")
	if err := x.ft.Close(); err != nil {
		return fmt.Errorf("close full-text index %s: %w", path, err)
	}
	x.ft = nil
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove full-text index %s: %w", path, err)
	}
	return x.openFullText()
}

// openFullText opens the bleve index, or creates it (then forgetting every
// document in bbolt, so the next Update indexes them all again).
func (x *Index) openFullText() error {
	path := filepath.Join(x.dir, "knowledge.bleve")
	if _, err := os.Stat(path); err == nil {
		ft, err := bleve.Open(path)
		if err == nil {
			x.ft = ft
			return nil
		}
		// A damaged or incompatible index is rebuilt from the documents.
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("remove damaged full-text index %s: %w", path, err)
		}
	}
	ft, err := bleve.New(path, indexMapping())
	if err != nil {
		return fmt.Errorf("create full-text index %s: %w", path, err)
	}
	x.ft = ft
	return x.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(bucketDocs)) != nil {
			if err := tx.DeleteBucket([]byte(bucketDocs)); err != nil {
				return err
			}
		}
		_, err := tx.CreateBucket([]byte(bucketDocs))
		return err
	})
}

// load reads the documents and vectors from bbolt and builds the snapshot.
func (x *Index) load() error {
	docs := map[string]docRecord{}
	err := x.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketDocs))
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists([]byte(bucketVectors)); err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var rec docRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("document %q: %w", k, err)
			}
			docs[string(k)] = rec
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", x.db.Path(), err)
	}
	st, err := x.snapshot(docs)
	if err != nil {
		return err
	}
	x.state = st
	return nil
}

// snapshot builds the in-memory corpus for docs: the built-in model, or the
// stored vectors of the Embedder's chunks.
func (x *Index) snapshot(docs map[string]docRecord) (*corpus, error) {
	st := &corpus{chunks: map[string]Chunk{}, docs: docs}
	var all []Chunk
	for _, path := range sortedKeys(docs) {
		for _, c := range docs[path].Chunks {
			st.chunks[c.ID] = c
			all = append(all, c)
		}
	}
	if x.embedder == nil {
		texts := make([]string, len(all))
		for i, c := range all {
			texts[i] = lsaText(c)
		}
		model, vecs := buildLSA(texts, x.opts.LSADimensions)
		st.lsa = model
		for i, c := range all {
			st.add(c.ID, vecs[i])
		}
		return st, nil
	}
	name := x.embedder.Name()
	err := x.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketVectors))
		for _, c := range all {
			if v := b.Get(vectorKey(name, c.Hash)); v != nil {
				st.add(c.ID, decodeVector(v))
			}
		}
		return nil
	})
	return st, err
}

// add appends a vector, normalised; vectors of another length than the
// first are skipped (a provider that changed its model under one name).
func (st *corpus) add(id string, v []float32) {
	if len(v) == 0 {
		return
	}
	if st.dim == 0 {
		st.dim = len(v)
	}
	if len(v) != st.dim {
		return
	}
	norm := 0.0
	for _, f := range v {
		norm += float64(f) * float64(f)
	}
	if norm == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(norm))
	st.vecIDs = append(st.vecIDs, id)
	for _, f := range v {
		st.vecs = append(st.vecs, f*inv)
	}
}

// Close closes the index; it is safe to call twice.
func (x *Index) Close() error {
	var errs []error
	if x.ft != nil {
		errs = append(errs, x.ft.Close())
		x.ft = nil
	}
	if x.db != nil {
		errs = append(errs, x.db.Close())
		x.db = nil
	}
	return errors.Join(errs...)
}

// Chunks returns how many chunks are indexed.
func (x *Index) Chunks() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.state.chunks)
}

// Update makes the index hold exactly docs: documents whose SHA-256 changed
// (or that are new) are chunked and reindexed, documents not in docs are
// removed, and the embedder is asked only for chunks it has no stored vector
// for. An error leaves the index consistent; the next Update finishes the
// work (a failed embedding is retried because its vector is still missing).
func (x *Index) Update(ctx context.Context, docs []Doc) (UpdateStats, error) {
	x.update.Lock()
	defer x.update.Unlock()
	var stats UpdateStats

	x.mu.RLock()
	old := x.state
	x.mu.RUnlock()

	next := make(map[string]docRecord, len(docs))
	var changed []string
	batch := x.ft.NewBatch()
	for _, d := range docs {
		if _, dup := next[d.Path]; dup {
			return stats, fmt.Errorf("update: document %s given twice", d.Path)
		}
		sha := hashText(d.Text)
		if rec, ok := old.docs[d.Path]; ok && rec.SHA == sha {
			next[d.Path] = rec
			stats.DocsUnchanged++
			continue
		}
		rec := docRecord{SHA: sha, Chunks: SplitDoc(d)}
		next[d.Path] = rec
		changed = append(changed, d.Path)
		stats.DocsChanged++
		keep := map[string]bool{}
		for _, c := range rec.Chunks {
			keep[c.ID] = true
			if err := batch.Index(c.ID, ftDoc{Text: c.Text, Heading: c.Heading}); err != nil {
				return stats, fmt.Errorf("index %s: %w", c.ID, err)
			}
		}
		for _, c := range old.docs[d.Path].Chunks {
			if !keep[c.ID] {
				batch.Delete(c.ID)
			}
		}
	}
	var removed []string
	for path, rec := range old.docs {
		if _, ok := next[path]; ok {
			continue
		}
		removed = append(removed, path)
		stats.DocsRemoved++
		for _, c := range rec.Chunks {
			batch.Delete(c.ID)
		}
	}

	// Embed what has no vector yet, before anything is written, so a
	// cancelled Update leaves the old state everywhere.
	vectors, err := x.embedMissing(ctx, next, &stats)
	if err != nil {
		return stats, err
	}

	if batch.Size() > 0 {
		if err := x.ft.Batch(batch); err != nil {
			return stats, fmt.Errorf("update full-text index: %w", err)
		}
	}
	err = x.db.Update(func(tx *bolt.Tx) error {
		bd := tx.Bucket([]byte(bucketDocs))
		for _, path := range changed {
			buf, err := json.Marshal(next[path])
			if err != nil {
				return err
			}
			if err := bd.Put([]byte(path), buf); err != nil {
				return err
			}
		}
		for _, path := range removed {
			if err := bd.Delete([]byte(path)); err != nil {
				return err
			}
		}
		bv := tx.Bucket([]byte(bucketVectors))
		for key, v := range vectors {
			if err := bv.Put([]byte(key), encodeVector(v)); err != nil {
				return err
			}
		}
		if len(changed) == 0 && len(removed) == 0 {
			return nil
		}
		return pruneVectors(bv, next)
	})
	if err != nil {
		return stats, fmt.Errorf("write %s: %w", x.db.Path(), err)
	}

	if len(changed) == 0 && len(removed) == 0 && len(vectors) == 0 {
		return stats, nil
	}
	st, err := x.snapshot(next)
	if err != nil {
		return stats, err
	}
	stats.ModelRebuilt = x.embedder == nil
	x.mu.Lock()
	x.state = st
	x.mu.Unlock()
	return stats, nil
}

// embedMissing asks the Embedder for every chunk text of docs that has no
// stored vector under its name; each distinct text is sent once.
func (x *Index) embedMissing(ctx context.Context, docs map[string]docRecord, stats *UpdateStats) (map[string][]float32, error) {
	if x.embedder == nil {
		return nil, nil
	}
	name := x.embedder.Name()
	var texts, keys []string
	seen := map[string]bool{}
	err := x.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketVectors))
		for _, path := range sortedKeys(docs) {
			for _, c := range docs[path].Chunks {
				key := string(vectorKey(name, c.Hash))
				if seen[key] || b.Get([]byte(key)) != nil {
					continue
				}
				seen[key] = true
				texts = append(texts, c.Text)
				keys = append(keys, key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]float32{}
	for start := 0; start < len(texts); start += x.opts.EmbedBatch {
		end := min(start+x.opts.EmbedBatch, len(texts))
		vecs, err := x.embedder.Embed(ctx, texts[start:end])
		if err != nil {
			return nil, fmt.Errorf("embed %d chunks with %s: %w", end-start, name, err)
		}
		if len(vecs) != end-start {
			return nil, fmt.Errorf("embed with %s: %d vectors for %d texts", name, len(vecs), end-start)
		}
		for i, v := range vecs {
			out[keys[start+i]] = v
		}
		stats.ChunksEmbedded += end - start
	}
	return out, nil
}

// pruneVectors deletes the vectors (of any embedder) of chunk texts no
// document holds any more, so the file does not grow with every edit.
func pruneVectors(b *bolt.Bucket, docs map[string]docRecord) error {
	live := map[string]bool{}
	for _, rec := range docs {
		for _, c := range rec.Chunks {
			live[c.Hash] = true
		}
	}
	var dead [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		_, hash := splitVectorKey(k)
		if !live[hash] {
			dead = append(dead, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// vectorKey is "<embedder name>\x00<chunk hash>".
func vectorKey(embedder, hash string) []byte {
	return []byte(embedder + "\x00" + hash)
}

func splitVectorKey(k []byte) (embedder, hash string) {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == 0 {
			return string(k[:i]), string(k[i+1:])
		}
	}
	return "", string(k)
}

func encodeVector(v []float32) []byte {
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	return buf
}

func decodeVector(buf []byte) []float32 {
	v := make([]float32, len(buf)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return v
}
