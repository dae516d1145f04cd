#!/bin/sh
# Installs what the test suites need and is not part of Go's module cache:
# Debian's nginx, the oracle of the differential routing tests, Debian's
# prometheus for promtool, which checks proxy/metrics's exposition, and Node.js
# with npm for the extension (its npm packages come from `make node-deps`;
# code-server and Chromium for the real VS Code test from scripts/e2e-setup.sh).
set -eu

need=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v promtool >/dev/null 2>&1 || need="$need prometheus"

if [ -n "$need" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: missing:$need; run as root or install them with apt-get" >&2
		exit 1
	fi
	echo "test-deps: installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
# The Debian package starts nginx on :80; the tests start their own
# instances on loopback and need no system service.
# Likewise the prometheus package starts its server on :9090; only promtool
# is wanted.
if command -v systemctl >/dev/null 2>&1; then
	systemctl stop nginx >/dev/null 2>&1 || true
	systemctl stop prometheus >/dev/null 2>&1 || true
fi
/usr/sbin/nginx -v
promtool --version 2>&1 | head -n 1
echo "node $(node --version), npm $(npm --version)"
