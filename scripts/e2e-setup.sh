#!/bin/sh
# Installs what the real-VS-Code end-to-end test (extension/test/e2e/run.mjs)
# needs, from the package registries only (Debian's and npm's), and nothing
# into the repository:
#
#   - Debian packages: the toolchain and headers code-server's native modules
#     build against, ripgrep (its rg stands in for the one @vscode/ripgrep
#     would download) and chromium (the headless browser that drives it);
#   - code-server (the real VS Code workbench and extension host, served over
#     HTTP) and playwright-core, both into a cache directory outside the repo:
#     ${DEVPROXY_E2E_CACHE:-$HOME/.cache/devproxy-e2e}.
#
# Idempotent: each part is skipped when already done (packages present, a
# marker file naming the installed version). Must run as root when Debian
# packages are missing (as CI does on a clean machine).
# See shared/guides/real-vscode-e2e.md for why each step is the way it is.
set -eu

CODE_SERVER_VERSION=4.100.3 # the last release that runs on Node 20
PLAYWRIGHT_VERSION=1.64.1   # drives Debian's chromium over CDP; downloads no browser
RIPGREP_VERSION=1.15.11     # the @vscode/ripgrep that code-server 4.100.3 depends on
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

CACHE=${DEVPROXY_E2E_CACHE:-$HOME/.cache/devproxy-e2e}
start=$(date +%s)
log() { echo "e2e-setup: $*"; }

# --- Node ------------------------------------------------------------------
command -v node >/dev/null 2>&1 || { log "node is required (Node 20)" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" != 20 ]; then
	log "code-server $CODE_SERVER_VERSION needs Node 20; found $(node --version)" >&2
	exit 1
fi

# --- Debian packages ---------------------------------------------------------
pkgs="build-essential pkg-config python3 libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev ripgrep chromium"
need=""
for p in $pkgs; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) need="$need $p" ;;
	esac
done
if [ -n "$need" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "missing Debian packages:$need; run as root or install them with apt-get" >&2
		exit 1
	fi
	log "installing Debian packages:$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	apt-get install -y -qq --no-install-recommends $need >/dev/null
else
	log "Debian packages present"
fi

mkdir -p "$CACHE"

# --- code-server -------------------------------------------------------------
# Layout: $CACHE/code-server-$VERSION/node_modules/code-server, with a marker
# file written only once every step succeeded (a half-done install is redone).
cs_dir="$CACHE/code-server-$CODE_SERVER_VERSION"
cs_marker="$cs_dir/.installed"
if [ -f "$cs_marker" ] && [ -x "$cs_dir/node_modules/.bin/code-server" ]; then
	log "code-server $CODE_SERVER_VERSION present in $cs_dir"
else
	log "installing code-server $CODE_SERVER_VERSION into $cs_dir (about a minute)"
	rm -rf "$cs_dir"
	mkdir -p "$cs_dir"
	echo '{"name":"devproxy-e2e-code-server","private":true}' >"$cs_dir/package.json"

	# @vscode/ripgrep's postinstall (run by code-server's postinstall.sh) would
	# download rg; it first looks for this cached archive, so give it Debian's.
	rg_cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-$RIPGREP_VERSION"
	if [ ! -s "$rg_cache/$RIPGREP_ASSET" ]; then
		mkdir -p "$rg_cache"
		rg_tmp=$(mktemp -d)
		cp "$(command -v rg)" "$rg_tmp/rg"
		tar -C "$rg_tmp" -czf "$rg_cache/$RIPGREP_ASSET" rg
		rm -rf "$rg_tmp"
	fi

	# 1. Fetch the package and its dependencies without running any scripts.
	(cd "$cs_dir" && npm install --no-audit --no-fund --ignore-scripts "code-server@$CODE_SERVER_VERSION")
	# 2. Its own postinstall: installs VS Code's extension dependencies and
	#    builds native modules. As root it refuses without unsafe_perm; it runs
	#    `npx node-gyp`, which must not prompt; it checks the user agent for the
	#    Node version.
	(
		cd "$cs_dir/node_modules/code-server"
		npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64" \
			npm_config_unsafe_perm=true \
			npm_config_yes=true \
			sh ./postinstall.sh
	)
	# 3. argon2 (password hashing, loaded at start even with --auth none) is
	#    a native module the --ignore-scripts install left unbuilt.
	(cd "$cs_dir" && npm rebuild argon2)
	"$cs_dir/node_modules/.bin/code-server" --version >/dev/null
	echo "$CODE_SERVER_VERSION" >"$cs_marker"
fi

# --- playwright-core ---------------------------------------------------------
# A separate directory so the repo's package.json stays free of it; run.mjs
# loads it from here. playwright-core has no install script and downloads no
# browser: the test uses /usr/bin/chromium.
pw_dir="$CACHE/playwright-core-$PLAYWRIGHT_VERSION"
pw_marker="$pw_dir/.installed"
if [ -f "$pw_marker" ] && [ -f "$pw_dir/node_modules/playwright-core/package.json" ]; then
	log "playwright-core $PLAYWRIGHT_VERSION present in $pw_dir"
else
	log "installing playwright-core $PLAYWRIGHT_VERSION into $pw_dir"
	rm -rf "$pw_dir"
	mkdir -p "$pw_dir"
	echo '{"name":"devproxy-e2e-playwright","private":true}' >"$pw_dir/package.json"
	(cd "$pw_dir" && npm install --no-audit --no-fund --ignore-scripts "playwright-core@$PLAYWRIGHT_VERSION")
	echo "$PLAYWRIGHT_VERSION" >"$pw_marker"
fi

log "code-server: $("$cs_dir/node_modules/.bin/code-server" --version | head -n 1)"
log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'not found')"
log "done in $(($(date +%s) - start))s"
