# The verbs a newcomer types. `make run` and `make test` are the two set-up
# commands of the README; `.ci/run` calls `make test`.

GO      ?= go
BIN     := bin/devproxy
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 10s

NPM     ?= npm

.PHONY: build run test test-deps test-go test-helm test-fuzz test-ext test-e2e test-demo e2e-setup test-vsix node-deps vsix bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./server/cmd/devproxy

# run: build, start the demo upstreams and serve the demo workspace.
run: build
	$(GO) build -o bin/demo-upstreams ./examples/demo/upstreams
	./scripts/run-demo.sh

# test: install what the tests need (nginx for the differential tests, the
# extension's npm packages, code-server and Chromium for the real VS Code
# test), then run every suite, including a short fuzzing pass from the seed
# corpus.
test: test-deps test-go test-helm test-fuzz test-ext test-e2e test-demo test-vsix

test-deps:
	./scripts/test-deps.sh

# The packages whose code runs on many goroutines at once (the proxy, the
# engine's shared tables, the port's owner and members, the live-events hub,
# the request analytics, the language server) are tested under the race
# detector; the rest (nginx differential tests, the CLI, the signal tests of
# the real binary) run plainly. DEVPROXY_REQUIRE_PROMTOOL turns
# proxy/metrics's promtool check from a skip into a failure when promtool is
# missing (make test-deps installs it); DEVPROXY_REQUIRE_NGINX does the same
# for proxy/nginxexport's checks against nginx.
RACE_PKGS := proxy/httpproxy proxy/routing proxy/routefile proxy/join proxy/live proxy/node proxy/health proxy/monitor proxy/metrics proxy/manage proxy/auth proxy/tunnel server/lsp

test-go: build
	@unformatted=$$(gofmt -l proxy server examples); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	DEVPROXY_REQUIRE_PROMTOOL=1 $(GO) test -count=1 -race $(addprefix ./,$(RACE_PKGS))
	DEVPROXY_REQUIRE_NGINX=1 $(GO) test -count=1 $$($(GO) list ./... | grep -v $(foreach p,$(RACE_PKGS),-e /$(p)$$))

# The Helm chart, checked without a cluster (helm and k8s.io/api as Go
# modules, in a module of their own: deploy/helm).
test-helm:
	@unformatted=$$(gofmt -l deploy); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	cd deploy/helm && $(GO) vet ./... && $(GO) test -count=1 ./...

# Go fuzzes one target at a time; each starts from its seed corpus
# (scripts/fuzz.sh).
test-fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./scripts/fuzz.sh

# The extension's npm packages, reinstalled when the lock file changes.
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund

node-deps: node_modules/.package-lock.json

# vsix: dist/devproxy-linux-x64.vsix, the extension with bin/devproxy inside.
# scripts/package-vsix.sh --all builds the other platforms.
vsix: node-deps
	./scripts/package-vsix.sh

# The extension's type check and unit tests (mocha, no VS Code needed).
test-ext: node-deps
	$(NPM) run typecheck
	$(NPM) run test:unit

# The extension in a real VS Code (code-server driven by headless Chromium):
# installs what it needs, builds the .vsix, saves screenshots in
# dist/e2e-artifacts.
test-e2e: node-deps
	./scripts/e2e.sh

# The demo in headless Chromium (the Chromium and playwright-core that the
# e2e setup installs): /web/'s HMR socket connects through the proxy, the
# dashboard lists the routes, a broken route file gets the HTML error page.
# Screenshots in dist/e2e-artifacts. See scripts/demo-browser.mjs.
test-demo: build e2e-setup
	$(GO) build -o bin/demo-upstreams ./examples/demo/upstreams
	node scripts/demo-browser.mjs

e2e-setup:
	./scripts/e2e-setup.sh

# The packages: this platform's and a cross-compiled one (win32-x64), each
# carrying the right binary.
test-vsix: node-deps
	./scripts/check-vsix.sh

# bench: the engine's Go benchmarks, the cost of request analytics on the
# proxy (metrics on/off ratio), the health scanner's (parallel scan speed-up,
# idle CPU), Calliope's (docs query, first-token latency), then the proxy
# against nginx and caddy with
# wrk (installs wrk, nginx and caddy when run as root). Reports, never
# gates; see docs/benchmarks.md and docs/benchmarks-proxy.md.
bench: build
	./scripts/bench.sh
	./scripts/bench-metrics.sh
	./scripts/bench-health.sh
	./scripts/bench-calliope.sh
	DEVPROXY_BIN=$(CURDIR)/$(BIN) ./scripts/bench-proxy.sh

clean:
	rm -rf bin dist
