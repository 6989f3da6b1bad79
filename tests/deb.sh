#!/usr/bin/env bash
# The Debian package, end to end on this machine: builds it with `cargo deb` from the static
# binary (the one deploy/Dockerfile ships), installs it with `dpkg -i`, runs the installed
# `sockscope --version`, finds its man page with `man -w sockscope`, checks the completions,
# the docs and the systemd unit (installed, not enabled), then purges it and checks that
# nothing it installed is left.
#
# As root it installs what is missing: cargo-deb (`cargo install --locked cargo-deb`, a few
# minutes the first time), man-db. It refuses to run where a sockscope package is already
# installed (it would remove it). Prints why it skips where it cannot (a failure under
# SOCKSCOPE_REQUIRE_LIVE=1: tests/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

source tests/lib.sh
say() { echo "deb.sh: $*"; }
fail() {
    echo "deb.sh: FAILED: $*" >&2
    exit 1
}

[ "$(uname -s)" = Linux ] || skip "not Linux"
command -v dpkg >/dev/null || skip "not a Debian system (no dpkg)"
[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i)"
need man man-db
need python3 python3
if dpkg -s sockscope >/dev/null 2>&1; then
    skip "a sockscope package is already installed here; this test would remove it"
fi
if ! cargo deb --version >/dev/null 2>&1; then
    say "installing cargo-deb (cargo install --locked cargo-deb)"
    cargo install --locked --quiet cargo-deb >/dev/null 2>&1 || skip "cargo install cargo-deb failed"
fi

BIN=$(build_static) || fail "cannot build the static binary"
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
TMP=$(mktemp -d)
installed=
deb=
cleanup() {
    set +e
    [ -n "$installed" ] && dpkg --purge sockscope >/dev/null 2>&1
    [ -n "$deb" ] && rm -f "$deb"
    rm -rf "$TMP"
}
trap cleanup EXIT

# cargo deb finds the binary where cargo built it (CARGO_TARGET_DIR and --target included) and
# prints where it put the package: the README's two commands, as they are.
deb=$(cargo deb --no-build --target "$TRIPLE" 2>"$TMP/cargo-deb.log") ||
    fail "cargo deb: $(tail -5 "$TMP/cargo-deb.log")"
deb=$(printf '%s\n' "$deb" | tail -1)
[ -f "$deb" ] || fail "cargo deb printed no package path: '$deb'"
size=$(stat -c %s "$deb")
say "built $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version) ($size bytes)"
cmp -s <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/sockscope) "$BIN" ||
    fail "the package's binary is not the static build"

DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$TMP/dpkg.log" 2>&1 ||
    fail "dpkg -i: $(tail -5 "$TMP/dpkg.log")"
installed=1
dpkg -L sockscope | sort >"$TMP/files"

# From the installed paths, as a user would.
version=$(/usr/bin/sockscope --version) || fail "/usr/bin/sockscope --version"
[ "$version" = "sockscope $(dpkg-query -W -f '${Version}' sockscope | sed 's/-[0-9]*$//')" ] ||
    fail "the installed binary says '$version'"
page=$(man -w sockscope) || fail "man -w sockscope finds no page"
[ "$page" = /usr/share/man/man1/sockscope.1.gz ] || [ "$page" = /usr/share/man/man1/sockscope.1 ] ||
    fail "man -w sockscope: $page"
man -w sockscope-serve >/dev/null || fail "man -w sockscope-serve"
for f in /usr/share/bash-completion/completions/sockscope /usr/share/zsh/vendor-completions/_sockscope \
    /usr/share/fish/vendor_completions.d/sockscope.fish /usr/share/doc/sockscope/runbooks.md \
    /usr/share/doc/sockscope/examples/sockscope-rules.yml /usr/share/doc/sockscope/copyright; do
    grep -qx "$f\(.gz\)\?" "$TMP/files" || fail "the package lacks $f"
done
unit=$(grep -E '/lib/systemd/system/sockscope.service$' "$TMP/files") || fail "the package has no systemd unit"
grep -q '^ExecStart=/usr/bin/sockscope serve' "$unit" || fail "the unit does not run /usr/bin/sockscope"
# Disabled by default: no link in any .wants directory.
if ls /etc/systemd/system/*.wants/sockscope.service >/dev/null 2>&1; then
    fail "installing the package enabled sockscope.service"
fi
# The unit as systemd would read it (where systemd-analyze exists).
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" >"$TMP/verify.log" 2>&1 || { cat "$TMP/verify.log"; fail "systemd-analyze verify"; }
fi
say "installed: $version; man -w sockscope: $page; completions, docs, unit (not enabled)"

# Removed, then purged: nothing of it left.
dpkg -r sockscope >"$TMP/dpkg.log" 2>&1 || fail "dpkg -r: $(tail -5 "$TMP/dpkg.log")"
dpkg --purge sockscope >"$TMP/dpkg.log" 2>&1 || fail "dpkg --purge: $(tail -5 "$TMP/dpkg.log")"
installed=
left=()
while read -r f; do
    [ -f "$f" ] || [ -L "$f" ] && left+=("$f")
done <"$TMP/files"
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
dpkg -s sockscope >/dev/null 2>&1 && fail "dpkg still knows sockscope after purge"
[ -e /usr/share/doc/sockscope ] && fail "/usr/share/doc/sockscope left after purge"
ls /etc/systemd/system/*.wants/sockscope.service >/dev/null 2>&1 && fail "a unit link left after purge"
say "removed and purged: no file left"
say "passed"
