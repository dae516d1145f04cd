#!/bin/sh
# Calliope's goals (issue 12), reported, never gated:
#   - a hybrid docs query over 5,000 chunks (goal: p95 under 5 ms);
#   - the first-token latency Calliope adds on top of its model's (goal:
#     under 50 ms), against a fake OpenAI-compatible server on loopback.
#
#   make bench            # runs this too
#   ./scripts/bench-calliope.sh
set -eu
cd "$(dirname "$0")/.."

GO=${GO:-go}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

echo "== $GO test -run='^\$' -bench='HybridSearch5000' -benchtime=3000x ./server/calliope/knowledge"
"$GO" test -run='^$' -bench='HybridSearch5000' -benchtime=3000x ./server/calliope/knowledge | tee "$raw"
echo "== $GO test -run='^\$' -bench='FirstTokenAdded' -benchtime=200x ./server/calliope"
"$GO" test -run='^$' -bench='FirstTokenAdded' -benchtime=200x ./server/calliope | tee -a "$raw"

echo
awk '
	function metric(name,    i) { for (i = 1; i < NF; i++) if ($(i+1) == name) return $i; return "" }
	/^BenchmarkHybridSearch5000/ { p95 = metric("p95-ms"); p50 = metric("p50-ms") }
	/^BenchmarkFirstTokenAdded/  { added = metric("added-ms"); addedp95 = metric("added-p95-ms"); prov = metric("provider-ms") }
	END {
		if (p95 != "") printf "hybrid query over 5,000 chunks: p50 %s ms, p95 %s ms (goal p95 < 5 ms)\n", p50, p95
		if (added != "") printf "first token: Calliope adds %s ms (p95 %s ms) to the model'\''s %s ms (goal < 50 ms)\n", added, addedp95, prov
	}' "$raw"
