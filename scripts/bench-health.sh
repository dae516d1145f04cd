#!/bin/sh
# The health scanner's goals (issue 11), reported, never gated:
#   - 100 routes whose upstreams answer after 50 ms: a full scan at
#     concurrency 10 against 1 (goal: at least 8x faster);
#   - 10 healthy fast routes in one scan (goal: under 50 ms);
#   - the CPU a running proxy spends keeping 10 healthy routes' health while
#     nothing else happens (a 10 s window after the start-up probes).
# Takes about a minute and a half.
#
#   make bench            # runs this too
#   ./scripts/bench-health.sh
set -eu
cd "$(dirname "$0")/.."

GO=${GO:-go}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

echo "== $GO test -run='^\$' -bench='ScanSlow100|ScanFast10' -benchtime=3x ./proxy/health"
"$GO" test -run='^$' -bench='ScanSlow100|ScanFast10' -benchtime=3x ./proxy/health | tee "$raw"
echo "== $GO test -run='^\$' -bench='IdleCPU' -benchtime=1x ./proxy/monitor"
"$GO" test -run='^$' -bench='IdleCPU' -benchtime=1x ./proxy/monitor | tee -a "$raw"

echo
awk '
	/^BenchmarkScanSlow100\/concurrency=1-/  { one = $3 }
	/^BenchmarkScanSlow100\/concurrency=10-/ { ten = $3 }
	/^BenchmarkScanFast10-/                  { fast = $3 }
	/^BenchmarkIdleCPU-/                     { for (i = 1; i <= NF; i++) if ($(i+1) == "cpu-%") cpu = $i }
	END {
		if (one && ten) printf "100 slow routes: %.2f s at concurrency 1, %.2f s at 10: %.1fx faster (goal 8x)\n", one / 1e9, ten / 1e9, one / ten
		if (fast) printf "10 fast routes: %.1f ms (goal 50 ms)\n", fast / 1e6
		if (cpu != "") printf "idle, 10 healthy routes: %s%% of one core\n", cpu
	}' "$raw"
