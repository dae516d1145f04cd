#!/bin/sh
# Benchmarks devproxy's reverse proxy against what people would use instead:
# on loopback, with wrk, it measures the upstream alone, Debian's nginx and
# Debian's caddy (each with the same route as devproxy) and `devproxy serve`
# on a 100-file workspace, then prints requests per second, p99 latency and
# devproxy's ratios to nginx and caddy. It also reports start to first
# proxied request, reload swap time and idle memory. docs/benchmarks-proxy.md
# explains every number and keeps the results.
#
#   make bench                          # builds bin/devproxy, then runs this
#   BENCH_SECONDS=30 ./scripts/bench-proxy.sh
#
# Benchmarks report; they do not gate: a missed goal prints MISS and the
# script still exits 0. It fails only when the bench itself is broken: a
# tool missing, or a target that does not answer 200 with the upstream's
# body (a bench against a 404 is worthless).
#
# Everything listens on 127.0.0.1 and is stopped when the script exits. The
# defaults take about two minutes (plus package installs the first time).
set -eu
cd "$(dirname "$0")/.."

GO=${GO:-go}
DURATION=${BENCH_SECONDS:-10}  # seconds of each measured wrk run
WARMUP=${BENCH_WARMUP:-2}      # seconds of each warm-up run
BIN=${DEVPROXY_BIN:-bin/devproxy}
PATH=$PATH:/usr/sbin:/sbin # Debian puts nginx in /usr/sbin

die() { echo "bench-proxy: $*" >&2; exit 1; }

# Debian's packages, installed when missing (as root only; the tools are
# named like their packages).
missing=
for tool in wrk nginx caddy curl; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || die "missing:$missing; install them (apt-get install$missing) or run as root"
	echo "== installing$missing"
	apt-get update -qq
	# shellcheck disable=SC2086 # a list of packages
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -x "$BIN" ]; then
	echo "== building $BIN"
	"$GO" build -o "$BIN" ./server/cmd/devproxy
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devproxy-bench.XXXXXX")
pids=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	for pid in $pids; do kill "$pid" 2>/dev/null || true; done
	for pid in $pids; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Go benchmarks are compiled now, so that compiling does not steal the
# CPU from a wrk run later.
echo "== compiling the Go benchmarks (proxy/httpproxy)"
"$GO" test -c -o "$tmp/httpproxy.test" ./proxy/httpproxy

# Ports: counting up from a base that differs per run, skipping any port
# that something listens on (read from /proc: no ss or netstat needed).
next_port=${BENCH_PORT_BASE:-$((20000 + $$ % 20000))}
port_in_use() {
	hex=$(printf ':%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}
pick_port() { # pick_port VAR: sets VAR to a free port
	while port_in_use "$next_port"; do next_port=$((next_port + 1)); done
	eval "$1=$next_port"
	next_port=$((next_port + 1))
}
pick_port UP
pick_port NGINX
pick_port CADDY
pick_port DEVPROXY
pick_port TUNNEL

# The upstream's answer: 1 KB of a..z, cheap to send and the same for all.
awk 'BEGIN { for (i = 0; i < 1024; i++) printf "%c", 97 + i % 26 }' >"$tmp/body"
BODY=$(cat "$tmp/body")

# start NAME COMMAND...: runs a server in the background, logging to
# $tmp/NAME.log; its pid is remembered for cleanup and left in $last_pid.
start() {
	name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	last_pid=$!
	pids="$pids $last_pid"
}

# expect NAME PID URL: waits up to 5 s for URL to answer, then insists on
# 200 with the upstream's body.
expect() {
	i=0
	until curl -s -o /dev/null "$3"; do
		kill -0 "$2" 2>/dev/null || { cat "$tmp/$1.log" >&2; die "$1 exited; its log is above"; }
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat "$tmp/$1.log" >&2; die "$1 does not answer on $3"; }
		sleep 0.05
	done
	code=$(curl -s -o "$tmp/got" -w '%{http_code}' "$3")
	if [ "$code" != 200 ] || ! cmp -s "$tmp/got" "$tmp/body"; then
		die "$1: GET $3 answered $code with $(head -c 200 "$tmp/got"), not the upstream's 1 KB body"
	fi
	echo "   $1 on $3: 200 with the upstream's body"
}

# nginx_conf DIR SERVER...: an nginx prefix folder whose config serves
# SERVER (the http-level text), with every path inside DIR.
nginx_conf() {
	dir=$1
	shift
	mkdir -p "$dir/tmp"
	user=
	[ "$(id -u)" -ne 0 ] || user='user root;' # workers would drop to nobody
	cat >"$dir/nginx.conf" <<EOF
$user
worker_processes auto;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	# nginx closes a client connection after 1000 requests by default;
	# caddy and devproxy do not, so neither does nginx here.
	keepalive_requests 100000;
	client_body_temp_path tmp/body;
	proxy_temp_path tmp/proxy;
	fastcgi_temp_path tmp/fastcgi;
	uwsgi_temp_path tmp/uwsgi;
	scgi_temp_path tmp/scgi;
	$*
}
EOF
}

echo "== starting the targets on 127.0.0.1 (files in $tmp)"

# The upstream: a second nginx answering return 200 with the body.
nginx_conf "$tmp/up" "server {
		listen 127.0.0.1:$UP;
		default_type text/plain;
		location / { return 200 \"$BODY\"; }
	}"
start upstream nginx -p "$tmp/up/" -c nginx.conf -e error.log -g 'daemon off;'
UP_PID=$last_pid

# nginx as the proxy, with keep-alive to the upstream as nginx needs it:
# an upstream block with keepalive, HTTP/1.1 and no "Connection: close".
nginx_conf "$tmp/nginx" "upstream bench_up {
		server 127.0.0.1:$UP;
		keepalive 128;
		keepalive_requests 100000;
	}
	server {
		listen 127.0.0.1:$NGINX;
		location /app/ {
			proxy_pass http://bench_up/;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
		}
	}"
start nginx nginx -p "$tmp/nginx/" -c nginx.conf -e error.log -g 'daemon off;'
NGINX_PID=$last_pid

# caddy (Debian's is 2.6): handle_path strips /app as proxy_pass .../ does.
# It keeps 32 idle upstream connections by default; 128, as nginx has.
# Access logs are off unless a "log" directive asks for them.
cat >"$tmp/Caddyfile" <<EOF
{
	admin off
	auto_https off
}
http://127.0.0.1:$CADDY {
	bind 127.0.0.1
	handle_path /app/* {
		reverse_proxy 127.0.0.1:$UP {
			transport http {
				keepalive_idle_conns_per_host 128
			}
		}
	}
}
EOF
mkdir -p "$tmp/caddy-home"
start caddy env HOME="$tmp/caddy-home" XDG_CONFIG_HOME="$tmp/caddy-home" XDG_DATA_HOME="$tmp/caddy-home" \
	caddy run --config "$tmp/Caddyfile" --adapter caddyfile
CADDY_PID=$last_pid

# devproxy on 100 route files of one to three locations each; app000 also
# routes /app/, the path measured.
mkdir -p "$tmp/ws/apps"
locations=0
i=0
while [ "$i" -lt 100 ]; do
	app=$(printf 'app%03d' "$i")
	{
		echo "# $app: a benchmark app"
		[ "$i" -ne 0 ] || echo "location /app/ { proxy_pass http://127.0.0.1:$UP/; }"
		echo "location /$app/ { proxy_pass http://127.0.0.1:$UP/; }"
		[ $((i % 3)) -lt 1 ] || echo "location = /$app { return 301 /$app/; }"
		[ $((i % 3)) -ne 2 ] || echo "location /$app/api/ { proxy_pass http://127.0.0.1:$UP; }"
	} >"$tmp/ws/apps/$app.conf"
	locations=$((locations + $(grep -c '^location' "$tmp/ws/apps/$app.conf")))
	i=$((i + 1))
done
start devproxy "$BIN" serve --root "$tmp/ws" --listen "127.0.0.1:$DEVPROXY" \
	--tunnel-listen "127.0.0.1:$TUNNEL" --log-level warn
DEVPROXY_PID=$last_pid

expect upstream "$UP_PID" "http://127.0.0.1:$UP/"
expect nginx "$NGINX_PID" "http://127.0.0.1:$NGINX/app/x"
expect caddy "$CADDY_PID" "http://127.0.0.1:$CADDY/app/x"
expect devproxy "$DEVPROXY_PID" "http://127.0.0.1:$DEVPROXY/app/x"
echo "   devproxy serves 100 files, $locations locations"

# Resident memory of devproxy in MB, from /proc.
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$DEVPROXY_PID/status"; }
rss_start=$(rss_mb) # idle, right after start and one proxied request

# cpu_ticks PID: clock ticks of CPU (user + system) used so far by PID and
# its children (nginx's workers), from /proc. The command name in
# /proc/PID/stat may hold spaces, so fields are counted after it.
cpu_ticks() {
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v p="$1" '{ pid = $1; sub(/^.*\) /, "") } pid == p || $2 == p { t += $12 + $13 } END { print t + 0 }'
}
CLK_TCK=$(getconf CLK_TCK)

# measure NAME URL PID: a warm-up run, then the measured one; appends
# "NAME rps p99_ms non2xx socket_errors cpu_us_per_request" to
# $tmp/results. The CPU is PID's (and its children's) during the measured
# run: on a shared machine it is steadier than requests per second.
measure() {
	echo "== wrk $2 ($1)"
	wrk -t2 -c64 -d"${WARMUP}s" "$2" >/dev/null
	cpu0=$(cpu_ticks "$3")
	wrk -t2 -c64 -d"${DURATION}s" --latency "$2" | tee "$tmp/wrk-$1.txt"
	cpu1=$(cpu_ticks "$3")
	awk -v name="$1" -v cpu=$((cpu1 - cpu0)) -v hz="$CLK_TCK" '
		# wrk prints latencies as 812.00us, 1.50ms, 1.02s or 1.00m
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /m$/) return v * 60000
			if (v ~ /s$/) return v * 1000
			return v + 0
		}
		$1 == "99%" { p99 = ms($2) }
		$1 == "Requests/sec:" { rps = $2 }
		$2 == "requests" && $3 == "in" { n = $1 }
		/^  Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
		END { printf "%s %.0f %.3f %d %d %.1f\n", name, rps, p99, bad, errs, n ? cpu * 1e6 / hz / n : 0 }
	' "$tmp/wrk-$1.txt" >>"$tmp/results"
}
: >"$tmp/results"
load_before=$(cut -d' ' -f1 /proc/loadavg)
measure upstream "http://127.0.0.1:$UP/" "$UP_PID"
measure nginx "http://127.0.0.1:$NGINX/app/x" "$NGINX_PID"
measure caddy "http://127.0.0.1:$CADDY/app/x" "$CADDY_PID"
measure devproxy "http://127.0.0.1:$DEVPROXY/app/x" "$DEVPROXY_PID"
load_after=$(cut -d' ' -f1 /proc/loadavg)

sleep 2
rss_after=$(rss_mb) # idle again, after the wrk runs

echo "== Go benchmarks: start to first request, reload swap"
DEVPROXY_BIN=$BIN "$tmp/httpproxy.test" -test.run '^$' -test.bench '^BenchmarkStartToFirstRequest$' \
	-test.benchtime 10x | tee "$tmp/go.txt"
"$tmp/httpproxy.test" -test.run '^$' -test.bench '^BenchmarkReloadSwap100Files$' \
	-test.benchtime 200x -test.benchmem | tee -a "$tmp/go.txt"
metric() { # metric UNIT: the value reported before UNIT in go.txt
	awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) v = $(i - 1) } END { print v }' "$tmp/go.txt"
}
first_ms=$(metric ms/first-request)
reload_ms=$(metric ms/reload)

echo
echo "== results: $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') cores, wrk -t2 -c64 -d${DURATION}s, $(nginx -v 2>&1 | sed 's/.*: //'), caddy $(caddy version | cut -d' ' -f1)"
echo "   load average $load_before before the wrk runs, $load_after after (other work on the machine makes the numbers noisy)"
awk -v first="$first_ms" -v reload="$reload_ms" -v rss0="$rss_start" -v rss1="$rss_after" '
	{ rps[$1] = $2; p99[$1] = $3; bad[$1] = $4; errs[$1] = $5; cpu[$1] = $6; order[++n] = $1 }
	function verdict(ok) { return ok ? "PASS" : "MISS" }
	# goal line: what, value, goal text, verdict
	function line(what, v, goal, ok) { printf "  %-40s %10s   goal %-10s %s\n", what, v, goal, (v == "" ? "MISS (not measured)" : verdict(ok)) }
	END {
		printf "  %-10s %10s %10s %14s\n", "target", "req/s", "p99 ms", "cpu us/req"
		for (i = 1; i <= n; i++) {
			t = order[i]
			note = ""
			if (bad[t] > 0) note = note sprintf("  WARNING: %d non-2xx answers", bad[t])
			if (errs[t] > 0) note = note sprintf("  WARNING: %d socket errors", errs[t])
			printf "  %-10s %10d %10.2f %14.1f%s\n", t, rps[t], p99[t], cpu[t], note
		}
		print "  (cpu us/req: CPU the target itself used per request, user + system; the upstream row is nginx answering alone)"
		print ""
		d = "devproxy"
		r = rps["nginx"] > 0 ? rps[d] / rps["nginx"] : 0
		line("devproxy/nginx requests per second", sprintf("%.2fx", r), ">= 0.6x", r >= 0.6)
		r = rps["caddy"] > 0 ? rps[d] / rps["caddy"] : 0
		line("devproxy/caddy requests per second", sprintf("%.2fx", r), ">= 1.0x", r >= 1.0)
		r = p99["nginx"] > 0 ? p99[d] / p99["nginx"] : 99
		line("devproxy/nginx p99 latency", sprintf("%.2fx", r), "<= 2.0x", r <= 2.0)
		line("start to first proxied request", first == "" ? "" : sprintf("%.1f ms", first), "< 300 ms", first + 0 < 300)
		line("reload swap, 100 files (no debounce)", reload == "" ? "" : sprintf("%.2f ms", reload), "< 20 ms", reload + 0 < 20)
		line("memory idle after start, 100 files", rss0 " MB", "< 50 MB", rss0 + 0 < 50)
		printf "  %-40s %10s   (reported; the goal is for idle after start)\n", "memory idle after the wrk runs", rss1 " MB"
	}
' "$tmp/results"

# Benchmarks report; they do not gate.
exit 0
