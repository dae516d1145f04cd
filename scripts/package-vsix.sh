#!/bin/sh
# Builds the platform-specific .vsix of the VS Code extension: the bundled
# TypeScript client and the devproxy binary of that platform, so the
# extension works without Go or devproxy installed (the extension starts
# <extension>/bin/devproxy unless devproxy.server.path says otherwise).
#
#   scripts/package-vsix.sh                  # linux-x64 -> dist/devproxy-linux-x64.vsix
#   scripts/package-vsix.sh darwin-arm64     # the vsce targets named
#   scripts/package-vsix.sh --all            # every target below, cross-compiled
#
# Targets are vsce's names; the binary is a static Go build (CGO_ENABLED=0),
# so one machine cross-compiles them all.
#
# Each target is packaged from a staging folder of its own: the cross-built
# binary never replaces bin/devproxy (what `make build` writes for this
# machine), and a win32 package never carries a Linux binary, or the reverse.
# The staging folder holds what .vscodeignore lets into the package.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)

all_targets="linux-x64 linux-arm64 darwin-x64 darwin-arm64 win32-x64"

usage() {
	echo "usage: $0 [--all | TARGET...]   targets: $all_targets" >&2
	exit 2
}

# go_platform TARGET prints "GOOS GOARCH" for a vsce target.
go_platform() {
	case "$1" in
	linux-x64) echo "linux amd64" ;;
	linux-arm64) echo "linux arm64" ;;
	darwin-x64) echo "darwin amd64" ;;
	darwin-arm64) echo "darwin arm64" ;;
	win32-x64) echo "windows amd64" ;;
	*) return 1 ;;
	esac
}

targets=""
if [ $# -eq 0 ]; then
	targets=linux-x64
fi
for arg in "$@"; do
	case "$arg" in
	--all) targets="$targets $all_targets" ;;
	-h | --help) usage ;;
	*)
		if ! go_platform "$arg" >/dev/null; then
			echo "$0: unknown target $arg" >&2
			usage
		fi
		targets="$targets $arg"
		;;
	esac
done

# The same version string as the Makefile's build.
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)

# The client: one esbuild bundle, so the package needs no node_modules.
if [ ! -d node_modules ]; then
	npm ci --no-audit --no-fund
fi
npm run compile


# Where the README's relative links and images point (package.json's repository).
repo_url=$(node -p 'require("./package.json").repository.url')

stage_root=$(mktemp -d "${TMPDIR:-/tmp}/devproxy-vsix.XXXXXX")
trap 'rm -rf "$stage_root"' EXIT
trap 'exit 130' INT TERM
mkdir -p dist

for target in $targets; do
	# shellcheck disable=SC2046 # split "GOOS GOARCH" on purpose
	set -- $(go_platform "$target")
	goos=$1
	goarch=$2
	exe=devproxy
	if [ "$goos" = windows ]; then
		exe=devproxy.exe
	fi

	stage="$stage_root/$target"
	mkdir -p "$stage/bin" "$stage/extension"
	# The package's README is the marketplace page (extension/README.md),
	# not the repository's; the LICENSE is the repository's (MIT).
	cp package.json .vscodeignore LICENSE "$stage/"
	cp extension/README.md "$stage/README.md"
	if [ -f CHANGELOG.md ]; then
		cp CHANGELOG.md "$stage/"
	fi
	cp -R extension/out extension/syntaxes extension/media extension/icon.png extension/language-configuration.json "$stage/extension/"

	echo "==> $target: go build ($goos/$goarch) -> bin/$exe"
	# -trimpath and -s -w: no build paths or debug tables in the shipped binary.
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch \
		go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$stage/bin/$exe" ./server/cmd/devproxy
	chmod 755 "$stage/bin/$exe"

	echo "==> $target: vsce package -> dist/devproxy-$target.vsix"
	# --no-dependencies: vsce would otherwise add node_modules of the
	# "dependencies", which esbuild has already bundled.
	# extension/README.md's images are relative to extension/: vsce makes
	# them absolute from the repository's extension/ folder.
	(cd "$stage" && "$root/node_modules/.bin/vsce" package --no-dependencies \
		--baseContentUrl "$repo_url/blob/HEAD/extension" --baseImagesUrl "$repo_url/raw/HEAD/extension" \
		--target "$target" --out "$root/dist/devproxy-$target.vsix")
done

ls -l dist/*.vsix
