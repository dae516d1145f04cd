#!/bin/sh
# Runs each fuzz target for FUZZTIME from its seed corpus (`make test-fuzz`).
# Go fuzzes one target at a time. A target that finds a failing input fails
# the run (the input is written under testdata/fuzz/ to be committed as a
# seed). On a loaded machine Go's fuzzing engine can also stop a run with
# "context deadline exceeded" when a worker is busy at the deadline, with
# no failing input: that is the engine's, not a finding, and the target is
# run once more.
#
#   FUZZTIME=30s ./scripts/fuzz.sh
set -u
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fuzz() {
	target=$1
	pkg=$2
	for attempt in 1 2; do
		echo "== $GO test -run='^\$' -fuzz='^$target\$' -fuzztime=$FUZZTIME $pkg"
		if "$GO" test -run='^$' -fuzz="^$target\$" -fuzztime="$FUZZTIME" "$pkg" >"$out" 2>&1; then
			tail -n 3 "$out"
			return 0
		fi
		cat "$out"
		if grep -q 'Failing input written' "$out" || ! grep -q 'context deadline exceeded' "$out" || [ "$attempt" -eq 2 ]; then
			status=1
			return 1
		fi
		echo "fuzz: $target stopped on the engine's deadline without a failing input; running it once more"
	done
}

fuzz FuzzParse ./proxy/routefile
fuzz FuzzSetGraph ./proxy/routefile
fuzz FuzzRegexAgreesWithWholeRegexp ./proxy/routefile
fuzz FuzzResolve ./proxy/routing
fuzz FuzzReadRequestHead ./proxy/httpproxy
fuzz FuzzChunkedReader ./proxy/httpproxy
exit $status
