package provider_test

import (
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

// BenchmarkChatFirstDelta measures the time from Chat to the first delta
// against the fake on loopback, through a chain whose first provider is
// refused: the provider layer's share of Calliope's first-token latency.
func BenchmarkChatFirstDelta(b *testing.B) {
	f := providertest.New(b)
	refused := provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: closedPort(b), Model: "m"})
	chain := provider.NewChain(refused, provider.NewOpenAICompatible(f.Endpoint("fake")))
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		var first time.Duration
		_, err := chain.Chat(b.Context(), ask, func(string) {
			if first == 0 {
				first = time.Since(start)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		total += first
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-to-first-delta/op")
}
