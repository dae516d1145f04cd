#!/bin/sh
# Shows the route engine on the demo workspace: what `devproxy check` finds
# and how a few requests are routed. (Serving arrives with `devproxy serve`.)
set -eu
cd "$(dirname "$0")/.."
demo=examples/demo
echo "== devproxy check --root $demo"
./bin/devproxy check --root "$demo" || true
for path in /web /web/index.html '/api/users?page=2'; do
	echo
	echo "== devproxy explain --root $demo '$path'"
	./bin/devproxy explain --root "$demo" "$path"
done
