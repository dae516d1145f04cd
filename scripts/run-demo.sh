#!/bin/sh
# make run: start the demo upstreams and `devproxy serve` on the demo
# workspace (examples/demo), print the URLs to open, stop both on Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
demo=examples/demo
listen=${DEVPROXY_LISTEN:-127.0.0.1:8080}

./bin/demo-upstreams &
upstreams=$!
trap 'kill $upstreams 2>/dev/null || true' EXIT INT TERM

./bin/devproxy check --root "$demo" || true
cat <<MSG

Open:
  http://$listen/devproxy/        the dashboard (all routes; also at / while no route claims it)
  http://$listen/web/             the demo web app (prefix strip, HMR WebSocket)
  http://$listen/api/users?page=1 the demo API (rewrite ... break; /api/ is contested, pinned)
  http://$listen/routes.json      the route table as JSON
Ctrl-C stops everything.

MSG
./bin/devproxy serve --root "$demo" --listen "$listen"
