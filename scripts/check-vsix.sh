#!/bin/sh
# Builds the .vsix of this machine's platform and of one cross-compiled
# platform (win32-x64), and checks what each carries: the client bundle,
# the grammar, the manifest, the LICENSE, the marketplace README and the
# icon, and the language server binary of the right platform, executable
# where that matters. `make test` runs it.
set -eu
cd "$(dirname "$0")/.."

./scripts/package-vsix.sh linux-x64 win32-x64

# check VSIX MEMBER MAGIC: MEMBER is in VSIX and starts with MAGIC (hex);
# VSIX also carries the manifest, the client, the grammar, the LICENSE, the
# marketplace README and the icon.
check() {
	python3 - "$@" <<'PY'
import json, struct, sys, zipfile
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
    # The marketplace page: the MIT LICENSE, extension/README.md (not the
    # repository's README) with its images made absolute, and the icon
    # package.json names, a 128x128 PNG.
    # (vsce may rename them: readme.md, LICENSE.txt.)
    def member_named(*wants):
        for n in names:
            if n.lower() in wants:
                return n
        sys.exit(f"{vsix}: {' or '.join(wants)} is missing; it has {names}")
    if "MIT License" not in z.read(member_named("extension/license", "extension/license.txt")).decode():
        sys.exit(f"{vsix}: LICENSE is not the MIT licence")
    readme_name = member_named("extension/readme.md")
    readme = z.read(readme_name).decode()
    if "## Settings" not in readme or "## Commands" not in readme:
        sys.exit(f"{vsix}: {readme_name} is not the marketplace README (extension/README.md)")
    if "](media/" in readme or "https://github.com/devtunnelproxy/devproxy/raw/HEAD/extension/media/" not in readme:
        sys.exit(f"{vsix}: {readme_name}'s screenshots are not absolute URLs into the repository")
    manifest = json.loads(z.read("extension/package.json"))
    if manifest.get("icon") != "extension/icon.png" or manifest.get("license") != "MIT":
        sys.exit(f"{vsix}: package.json has icon {manifest.get('icon')!r} and license {manifest.get('license')!r}")
    icon = z.read(member_named("extension/extension/icon.png"))
    if icon[:8] != bytes.fromhex("89504e470d0a1a0a") or struct.unpack(">II", icon[16:24]) != (128, 128):
        sys.exit(f"{vsix}: extension/icon.png is not a 128x128 PNG")
    if any(n.startswith("extension/extension/media/") and n.endswith(".png") for n in names):
        sys.exit(f"{vsix}: carries the README's screenshots")
print(f"{vsix}: ok ({len(names)} files, {member})")
PY
}
check dist/devproxy-linux-x64.vsix bin/devproxy 7f454c46 # ELF
check dist/devproxy-win32-x64.vsix bin/devproxy.exe 4d5a   # MZ (PE)
