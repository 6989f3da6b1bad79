# Sourced by the scripts under tests/: what they do where a machine lacks something.
#
# `skip REASON` ends the script, saying why it cannot run here. That passes (exit 0), so the
# scripts run anywhere; under SOCKSCOPE_REQUIRE_LIVE=1 (CI, as root, where everything can run)
# it fails (exit 1) instead: there a skip would mean a check had silently stopped checking.
# The Rust tests' twin is util::skip.
skip() {
    local name
    name=$(basename "$0")
    if [ "${SOCKSCOPE_REQUIRE_LIVE:-}" = 1 ]; then
        echo "$name: FAILED: SOCKSCOPE_REQUIRE_LIVE=1 and this would be skipped: $*" >&2
        exit 1
    fi
    echo "$name: skipped: $*"
    exit 0
}

# `need TOOL PACKAGE`: as root with apt-get, installs Debian's PACKAGE when TOOL is missing;
# skips when TOOL is still missing.
need() {
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "$(basename "$0"): installing $2"
        local apt=(apt-get -qq -o DPkg::Lock::Timeout=300)
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "$2" >/dev/null 2>&1 ||
            { "${apt[@]}" update >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "$2" >/dev/null 2>&1; } ||
            skip "$1 is missing and apt-get could not install $2"
    fi
    command -v "$1" >/dev/null || skip "$1 is missing (install $2, or run as root to let this script install it)"
}

# `build_sockscope`: builds the debug binary and prints its path as cargo has it, wherever
# CARGO_TARGET_DIR (a CI cache, say) puts the target directory.
build_sockscope() {
    cargo build --quiet || return 1
    local dir
    dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    [ -n "$dir" ] || { echo "$(basename "$0"): cargo metadata named no target directory" >&2; return 1; }
    echo "$dir/debug/sockscope"
}
