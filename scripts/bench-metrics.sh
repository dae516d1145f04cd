#!/bin/sh
# The cost of request analytics on the proxy's throughput (goal: under 5%):
# runs BenchmarkProxyMetrics (proxy/metrics/proxy_test.go) COUNT times and
# prints the median on/off ratio, once from the separate off and on runs and
# once from the paired run, which alternates batches between the two proxies
# and so shrugs off a load that drifts between runs (the better figure on a
# busy machine). Reports, never gates: exits 0 whatever the numbers.
#
#   make bench                                   # runs this after bench.sh
#   COUNT=10 BENCHTIME=2s ./scripts/bench-metrics.sh
set -eu
cd "$(dirname "$0")/.."

GO=${GO:-go}
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

echo "== $GO test -run='^\$' -bench='^BenchmarkProxyMetrics\$' -benchmem -count=$COUNT -benchtime=$BENCHTIME ./proxy/metrics"
"$GO" test -run='^$' -bench='^BenchmarkProxyMetrics$' -benchmem -count="$COUNT" -benchtime="$BENCHTIME" ./proxy/metrics | tee "$raw"

# benchstat, when installed, adds confidence intervals.
benchstat=$(command -v benchstat 2>/dev/null || true)
[ -z "$benchstat" ] && [ -x "$HOME/go/bin/benchstat" ] && benchstat=$HOME/go/bin/benchstat
if [ -n "$benchstat" ]; then
	echo
	"$benchstat" "$raw" || true
fi

echo
awk -v count="$COUNT" '
	function median(v, k,    i, j, t, a) {
		for (i = 1; i <= k; i++) a[i] = v[i] + 0
		for (i = 2; i <= k; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	/^BenchmarkProxyMetrics\/(off|on|paired)/ {
		split($1, part, "/"); sub(/-[0-9]+$/, "", part[2])
		for (i = 2; i <= NF; i++) {
			if (part[2] == "off" && $i == "ns/op") off[++noff] = $(i - 1)
			if (part[2] == "on" && $i == "ns/op") on[++non] = $(i - 1)
			if (part[2] == "paired" && $i == "on/off-%") pair[++npair] = $(i - 1)
		}
	}
	END {
		if (noff && non) {
			mo = median(off, noff); mn = median(on, non)
			printf "separate runs: off %.1f us/req, on %.1f us/req, on/off %.1f%% (median of %d)\n", mo / 1e3, mn / 1e3, 100 * mn / mo, count
		}
		if (npair) printf "paired runs:   on/off %.1f%% (median of %d; goal: under 105%%)\n", median(pair, npair), npair
	}
' "$raw"
exit 0
