package knowledge

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/custom"   // custom analyzers
	_ "github.com/blevesearch/bleve/v2/analysis/lang/en"           // possessive_en
	_ "github.com/blevesearch/bleve/v2/analysis/token/porter"      // stemmer_porter
	_ "github.com/blevesearch/bleve/v2/analysis/token/stop"        // stop_tokens
	_ "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode" // unicode
	_ "github.com/blevesearch/bleve/v2/analysis/tokenmap"          // custom token maps
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
)

// ftDoc is what the full-text index holds per chunk. Nothing is stored in
// bleve but the terms: the chunk itself comes from the snapshot by ID.
type ftDoc struct {
	Text    string `json:"text"`
	Heading string `json:"heading"`
}

// headingBoost weighs a match in the heading path over one in the text: the
// headings of these docs are the questions their sections answer.
const headingBoost = 2.0

// analyzerName is the full-text analyzer: bleve's English one (unicode
// words, possessives, lowercasing, Porter stemming) with the stop words of
// the LSA model, which keep what matters to someone whose route fails:
// "down", "up", "not", "no", "off", "out".
const analyzerName = "devproxy_en"

func indexMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	stops := make([]any, 0, len(stopWords))
	for w := range stopWords {
		stops = append(stops, w)
	}
	must := func(err error) {
		if err != nil {
			panic("knowledge: the index mapping: " + err.Error())
		}
	}
	must(m.AddCustomTokenMap("devproxy_stop_words", map[string]any{"type": "custom", "tokens": stops}))
	must(m.AddCustomTokenFilter("devproxy_stop", map[string]any{"type": "stop_tokens", "stop_token_map": "devproxy_stop_words"}))
	must(m.AddCustomAnalyzer(analyzerName, map[string]any{
		"type":          "custom",
		"tokenizer":     "unicode",
		"token_filters": []any{"possessive_en", "to_lower", "devproxy_stop", "stemmer_porter"},
	}))
	field := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzerName
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("text", field())
	doc.AddFieldMappingsAt("heading", field())
	m.DefaultMapping = doc
	m.DefaultAnalyzer = analyzerName
	return m
}

// Search returns the k best chunks for query: the full-text ranking (a match
// query over text and heading, the heading boosted) and the vector ranking
// (cosine to the query's embedding), each cut to Options.Candidates, fused
// by reciprocal rank fusion. When the query cannot be embedded (the
// provider fails), the full-text ranking alone answers, and the error says
// why.
func (x *Index) Search(ctx context.Context, query string, k int) ([]Hit, error) {
	st := x.snapshotNow()
	// The two rankings run side by side: a provider's embedding of the
	// query is a network round trip, and bleve needs no help from it.
	type ranking struct {
		hits []Hit
		err  error
	}
	vc := make(chan ranking, 1)
	go func() {
		hits, err := x.vector(ctx, st, query)
		vc <- ranking{hits, err}
	}()
	ft, ftErr := x.fullText(st, query)
	v := <-vc
	if ftErr != nil {
		return nil, ftErr
	}
	vec, vecErr := v.hits, v.err
	fused := map[string]*Hit{}
	add := func(hits []Hit, vector bool) {
		for i, h := range hits {
			f := fused[h.ID]
			if f == nil {
				f = &Hit{Chunk: h.Chunk}
				fused[h.ID] = f
			}
			if vector {
				f.VectorRank = i + 1
			} else {
				f.FullTextRank = i + 1
			}
			f.Score += 1 / float64(rrfK+i+1)
		}
	}
	add(ft, false)
	add(vec, true)
	out := make([]Hit, 0, len(fused))
	for _, h := range fused {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > k {
		out = out[:k]
	}
	if vecErr != nil {
		return out, fmt.Errorf("vector search (full-text results only): %w", vecErr)
	}
	return out, nil
}

// SearchFullText returns the k best chunks by the full-text index alone;
// Score is bleve's.
func (x *Index) SearchFullText(query string, k int) ([]Hit, error) {
	hits, err := x.fullText(x.snapshotNow(), query)
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, err
}

// SearchVector returns the k best chunks by embedding alone; Score is the
// cosine similarity.
func (x *Index) SearchVector(ctx context.Context, query string, k int) ([]Hit, error) {
	hits, err := x.vector(ctx, x.snapshotNow(), query)
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, err
}

func (x *Index) snapshotNow() *corpus {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.state
}

func (x *Index) fullText(st *corpus, q string) ([]Hit, error) {
	if strings.TrimSpace(q) == "" || len(st.chunks) == 0 {
		return nil, nil
	}
	text := bleve.NewMatchQuery(q)
	text.SetField("text")
	heading := bleve.NewMatchQuery(q)
	heading.SetField("heading")
	heading.SetBoost(headingBoost)
	req := bleve.NewSearchRequestOptions(query.NewDisjunctionQuery([]query.Query{text, heading}), x.opts.Candidates, 0, false)
	res, err := x.ft.Search(req)
	if err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, m := range res.Hits {
		c, ok := st.chunks[m.ID]
		if !ok {
			continue // indexed by an Update that has not swapped in yet
		}
		hits = append(hits, Hit{Chunk: c, Score: m.Score, FullTextRank: len(hits) + 1})
	}
	return hits, nil
}

func (x *Index) vector(ctx context.Context, st *corpus, q string) ([]Hit, error) {
	if strings.TrimSpace(q) == "" || st.dim == 0 {
		return nil, nil
	}
	var qv []float32
	if x.embedder == nil {
		qv = st.lsa.embed(q)
	} else {
		vs, err := x.embedder.Embed(ctx, []string{q})
		if err != nil {
			return nil, fmt.Errorf("embed the query with %s: %w", x.embedder.Name(), err)
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("embed the query with %s: %d vectors for 1 text", x.embedder.Name(), len(vs))
		}
		qv = vs[0]
	}
	if len(qv) != st.dim {
		return nil, nil
	}
	var norm float32
	for _, f := range qv {
		norm += f * f
	}
	if norm == 0 {
		return nil, nil // no word of the query is known to the model
	}
	// Brute force: 5,000 chunks of 100 dimensions are 500,000
	// multiply-adds, well under a millisecond; the best n are kept in a
	// small sorted list.
	n := x.opts.Candidates
	type scored struct {
		i int
		s float32
	}
	top := make([]scored, 0, n+1)
	dim := st.dim
	for i := range st.vecIDs {
		s := dot32(qv, st.vecs[i*dim:(i+1)*dim])
		if len(top) == n && s <= top[n-1].s {
			continue
		}
		at := sort.Search(len(top), func(j int) bool { return top[j].s < s })
		top = append(top, scored{})
		copy(top[at+1:], top[at:])
		top[at] = scored{i, s}
		if len(top) > n {
			top = top[:n]
		}
	}
	hits := make([]Hit, 0, len(top))
	for _, t := range top {
		c := st.chunks[st.vecIDs[t.i]]
		hits = append(hits, Hit{Chunk: c, Score: float64(t.s) / math.Sqrt(float64(norm)), VectorRank: len(hits) + 1})
	}
	return hits, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// dot32 is the dot product of two vectors of the same length, in four
// independent sums the CPU can overlap (the vector ranking is this loop).
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
