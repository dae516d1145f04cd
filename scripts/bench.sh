#!/bin/sh
# Runs the route engine's Go benchmarks and prints each one next to its goal
# (docs/benchmarks.md explains what they measure). Benchmarks report; they do
# not gate: the script exits 0 whatever the numbers, and fails only when the
# benchmarks themselves cannot build or run.
#
#   make bench                      # builds, then runs this
#   BENCHTIME=2s COUNT=10 ./scripts/bench.sh
#   BENCH='Match' ./scripts/bench.sh
#
# Each benchmark runs COUNT times and the table shows the median, which
# shrugs off the odd slow run on a noisy machine. The defaults (1 s per run,
# 5 runs each) finish in two to four minutes on 2 busy cores; the memory
# benchmark (100,000 regex locations, BENCH=RegexTableMemory runs it alone)
# takes a minute or two of that. Benchmarks without a goal below (other
# packages' too) are listed as "report".
set -eu
cd "$(dirname "$0")/.."

GO=${GO:-go}
BENCH=${BENCH:-.}
BENCHTIME=${BENCHTIME:-1s}
COUNT=${COUNT:-5}
# proxy/health and proxy/monitor have their own script (bench-health.sh):
# their benchmarks run whole scans and idle windows, not loops.
PKGS=${PKGS:-$("$GO" list ./proxy/... ./server/lsp | grep -v -e /proxy/health$ -e /proxy/monitor$)}

raw=$(mktemp)
rcfile=$(mktemp)
trap 'rm -f "$raw" "$rcfile"' EXIT

# POSIX sh has no pipefail: keep go test's exit status in a file so the raw
# output can stream to the terminal through tee.
echo "== $GO test -run='^\$' -bench='$BENCH' -benchmem -count=$COUNT -benchtime=$BENCHTIME $PKGS"
{
	rc=0
	# $PKGS is a list of packages: split it on purpose.
	# shellcheck disable=SC2086
	"$GO" test -run='^$' -bench="$BENCH" -benchmem -count="$COUNT" -benchtime="$BENCHTIME" $PKGS 2>&1 || rc=$?
	echo "$rc" >"$rcfile"
} | tee "$raw"
rc=$(cat "$rcfile")
if [ "$rc" -ne 0 ]; then
	echo "bench: go test failed (exit $rc); see the output above" >&2
	exit "$rc"
fi

echo
echo "== results on $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') cores: median of $COUNT runs"

# The goals, one line each: benchmark name (without "Benchmark" and the
# -GOMAXPROCS suffix), ns/op goal, allocs/op goal, p95 goal (for
# benchmarks that report a p95-ns metric) and B/loc goal (live heap per
# location, for the memory benchmark); "-" means no goal, the number is
# only reported. Keep in step with docs/benchmarks.md.
goals='ComposeFromDisk 20000000 - - -
RebuildOneFile 2000000 - - -
Match/exact 2000 0 - -
Match/prefix-noregex 2000 0 - -
Match/prefix-after-regexes 2000 0 - -
Match/regex 2000 - - -
Match/miss 2000 - - -
Resolve/prefix-noregex - - - -
Resolve/prefix-variable-host - - - -
Parse 200000 - - -
RegexTableMemory/locs=100000 - - - 2500
Observe 1000 0 - -
ObserveParallel 1000 0 - -
InitializeToDiagnostics 500000000 - - -
DidChangeRepublish - - 30000000 -'

printf '%s\n' "$goals" | awk '
	# Pass 1 (the goals, from stdin): remember each goal in file order.
	FILENAME == "-" { order[++n] = $1; goalNs[$1] = $2; goalAllocs[$1] = $3; goalP95[$1] = $4; goalBloc[$1] = $5; next }

	# Pass 2 (go test output): collect ns/op, allocs/op, p95-ns and B/loc
	# per benchmark.
	/^Benchmark/ {
		name = $1
		sub(/^Benchmark/, "", name)
		sub(/-[0-9]+$/, "", name)
		for (i = 2; i <= NF; i++) {
			if ($i == "ns/op") ns[name, ++nsCount[name]] = $(i - 1)
			if ($i == "allocs/op") allocs[name, ++allocsCount[name]] = $(i - 1)
			if ($i == "p95-ns") p95[name, ++p95Count[name]] = $(i - 1)
			if ($i == "B/loc") bloc[name, ++blocCount[name]] = $(i - 1)
		}
		if (!(name in seen)) { seen[name] = 1; if (!(name in goalNs)) order[++n] = name }
	}

	# median of the k values v[name, 1..k] (insertion sort; k is small)
	function median(v, name, k,    i, j, t, a) {
		for (i = 1; i <= k; i++) a[i] = v[name, i] + 0
		for (i = 2; i <= k; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		if (k % 2) return a[(k + 1) / 2]
		return (a[k / 2] + a[k / 2 + 1]) / 2
	}

	# human-readable duration for a number of nanoseconds
	function dur(x) {
		if (x == "-") return "-"
		if (x >= 1e6) return sprintf("%.2f ms", x / 1e6)
		if (x >= 1e3) return sprintf("%.2f us", x / 1e3)
		return sprintf("%.1f ns", x)
	}

	END {
		fmt = "%-30s %12s %12s %10s %8s %12s %12s %8s %8s  %s\n"
		printf fmt, "benchmark", "ns/op", "goal", "allocs/op", "goal", "p95", "goal", "B/loc", "goal", "result"
		for (i = 1; i <= n; i++) {
			name = order[i]
			gb = (name in goalBloc) ? goalBloc[name] : "-"
			if (!(name in seen)) { printf fmt, name, "not run", dur(goalNs[name]), "", goalAllocs[name], "", dur(goalP95[name]), "", gb, "-"; continue }
			t = median(ns, name, nsCount[name])
			a = (name in allocsCount) ? sprintf("%d", median(allocs, name, allocsCount[name])) : "-"
			p = (name in p95Count) ? median(p95, name, p95Count[name]) : "-"
			m = (name in blocCount) ? sprintf("%d", median(bloc, name, blocCount[name])) : "-"
			g = (name in goalNs) ? goalNs[name] : "-"
			ga = (name in goalAllocs) ? goalAllocs[name] : "-"
			gp = (name in goalP95) ? goalP95[name] : "-"
			result = "report"
			if (g != "-" || ga != "-" || gp != "-" || gb != "-") {
				result = "PASS"
				if (g != "-" && t > g + 0) result = "MISS"
				if (ga != "-" && a > ga + 0) result = "MISS"
				if (gp != "-" && (p == "-" || p > gp + 0)) result = "MISS"
				if (gb != "-" && (m == "-" || m > gb + 0)) result = "MISS"
			}
			printf fmt, name, dur(t), dur(g), a, ga, dur(p), dur(gp), m, gb, result
		}
	}
' - "$raw"

# Benchmarks report; they do not gate.
exit 0
