// Package knowledge indexes documents for Calliope (docs/calliope.md).
// This file holds the types its callers share; the index comes with
// issue 12's retrieval work.
package knowledge

import "context"

// Doc is one document: Path is "docs/guides/vite.md" (embedded) or
// "workspace:README.md".
type Doc struct{ Path, Text string }

// Chunk is a part of a document that follows its headings.
type Chunk struct {
	ID, Doc, Heading, Text string
	Hash                   string // sha256 of Text, hex
}

// Hit is a chunk a search found.
type Hit struct {
	Chunk
	Score                    float64 // the fused score
	FullTextRank, VectorRank int     // 1-based; 0 when absent from that list
}

// Embedder turns texts into vectors.
type Embedder interface {
	Name() string // keys stored vectors: another name re-embeds
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}
