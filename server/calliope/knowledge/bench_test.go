package knowledge

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/docs"
)

// syntheticDocs grows the embedded docs to at least n chunks: copies under
// bench/vNN/ in which about one word in six is swapped for another word of
// the docs, so the copies share vocabulary and structure but not text.
func syntheticDocs(tb testing.TB, n int) []Doc {
	tb.Helper()
	base, err := Docs(docs.FS, "docs")
	if err != nil {
		tb.Fatal(err)
	}
	var vocab []string
	for _, d := range base {
		vocab = append(vocab, strings.Fields(d.Text)...)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	out := slices.Clone(base)
	chunks := 0
	for _, d := range base {
		chunks += len(SplitDoc(d))
	}
	for v := 1; chunks < n; v++ {
		for _, d := range base {
			lines := strings.Split(d.Text, "\n")
			for i, line := range lines {
				words := strings.Fields(line)
				for j := range words {
					if rng.IntN(6) == 0 && !strings.HasPrefix(words[j], "#") {
						words[j] = vocab[rng.IntN(len(vocab))]
					}
				}
				lines[i] = strings.Join(words, " ")
			}
			doc := Doc{Path: fmt.Sprintf("bench/v%02d/%s", v, d.Path), Text: strings.Join(lines, "\n")}
			out = append(out, doc)
			chunks += len(SplitDoc(doc))
		}
	}
	return out
}

// BenchmarkHybridSearch5000 measures Search (full text + LSA vectors, fused)
// over at least 5,000 chunks, asking the quality test's questions in turn;
// it reports the 50th and 95th percentile latencies (goal: p95 < 5 ms).
func BenchmarkHybridSearch5000(b *testing.B) {
	benchSearch(b, func(x *Index, q string) error {
		_, err := x.Search(context.Background(), q, 5)
		return err
	})
}

// BenchmarkFullTextSearch5000 and BenchmarkVectorSearch5000 split the cost.
func BenchmarkFullTextSearch5000(b *testing.B) {
	benchSearch(b, func(x *Index, q string) error {
		_, err := x.SearchFullText(q, 5)
		return err
	})
}

func BenchmarkVectorSearch5000(b *testing.B) {
	benchSearch(b, func(x *Index, q string) error {
		_, err := x.SearchVector(context.Background(), q, 5)
		return err
	})
}

func benchSearch(b *testing.B, search func(*Index, string) error) {
	all := syntheticDocs(b, 5000)
	x, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	start := time.Now()
	if _, err := x.Update(context.Background(), all); err != nil {
		b.Fatal(err)
	}
	if x.Chunks() < 5000 {
		b.Fatalf("%d chunks", x.Chunks())
	}
	b.Logf("%d docs, %d chunks indexed (full text and LSA) in %v", len(all), x.Chunks(), time.Since(start).Round(time.Millisecond))
	for _, q := range questions { // warm the caches once
		if err := search(x, q.q); err != nil {
			b.Fatal(err)
		}
	}
	var took []time.Duration
	i := 0
	for b.Loop() {
		q := questions[i%len(questions)].q
		i++
		t0 := time.Now()
		if err := search(x, q); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	pct := func(p float64) float64 {
		return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(x.Chunks()), "chunks")
}
