#!/bin/sh
# Builds the .vsix of this machine's platform and of one cross-compiled
# platform (win32-x64), and checks what each carries: the client bundle,
# the grammar, the manifest, and the language server binary of the right
# platform, executable where that matters. `make test` runs it.
set -eu
cd "$(dirname "$0")/.."

./scripts/package-vsix.sh linux-x64 win32-x64

# check VSIX MEMBER MAGIC: MEMBER is in VSIX and starts with MAGIC (hex).
check() {
	python3 - "$@" <<'PY'
import sys, zipfile
vsix, member, magic = sys.argv[1], "extension/" + sys.argv[2], bytes.fromhex(sys.argv[3])
with zipfile.ZipFile(vsix) as z:
    names = z.namelist()
    for want in ("extension/package.json", "extension/extension/out/extension.js",
                 "extension/extension/syntaxes/devproxy-routes.tmLanguage.json"):
        if want not in names:
            sys.exit(f"{vsix}: {want} is missing")
    if member not in names:
        sys.exit(f"{vsix}: {member} is missing; it has {names}")
    head = z.open(member).read(len(magic))
    if head != magic:
        sys.exit(f"{vsix}: {member} starts with {head.hex()}, not {magic.hex()}")
    mode = z.getinfo(member).external_attr >> 16
    if member.endswith("/devproxy") and mode and not mode & 0o111:
        sys.exit(f"{vsix}: {member} is not executable (mode {oct(mode)})")
    if any(n.startswith("extension/node_modules/") or n.endswith(".go") for n in names):
        sys.exit(f"{vsix}: carries node_modules or Go sources")
print(f"{vsix}: ok ({len(names)} files, {member})")
PY
}
check dist/devproxy-linux-x64.vsix bin/devproxy 7f454c46 # ELF
check dist/devproxy-win32-x64.vsix bin/devproxy.exe 4d5a   # MZ (PE)
