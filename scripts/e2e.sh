#!/bin/sh
# The extension's end-to-end test in a real VS Code (`make test` runs it):
# installs code-server, Chromium and playwright-core when missing
# (scripts/e2e-setup.sh), builds the .vsix (scripts/package-vsix.sh), then
# drives the workbench with extension/test/e2e/run.mjs. Screenshots and logs
# land in ${DEVPROXY_E2E_ARTIFACTS:-dist/e2e-artifacts}.
set -eu
cd "$(dirname "$0")/.."

./scripts/e2e-setup.sh

if [ ! -x ./scripts/package-vsix.sh ]; then
	echo "e2e: ./scripts/package-vsix.sh is missing (or not executable); it builds dist/devproxy-linux-x64.vsix" >&2
	exit 1
fi
echo "e2e: building the .vsix"
./scripts/package-vsix.sh
vsix=dist/devproxy-linux-x64.vsix
if [ ! -f "$vsix" ]; then
	echo "e2e: ./scripts/package-vsix.sh did not produce $vsix" >&2
	exit 1
fi

exec node extension/test/e2e/run.mjs "$vsix"
