#!/usr/bin/env bash
# Print the version of every tool the harness runs, one line each, as found after `make setup`.
# Exits 1 when one is missing, so that CI fails before running anything against it.
set -euo pipefail

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
missing=0

show() {  # show LABEL COMMAND... : the first line the command prints, or "not found"
    local label=$1 out
    shift
    if [[ -n $1 ]] && out=$("$@" 2>&1 | head -n 1) && [[ -n $out ]]; then
        printf '%-13s %s\n' "$label:" "$out"
    else
        printf '%-13s %s\n' "$label:" "not found" >&2
        missing=1
    fi
}

first_found() {  # print the first argument that is an executable (command name or path)
    local candidate
    for candidate in "$@"; do
        if command -v "$candidate" 2>/dev/null; then return 0; fi
    done
    return 0
}

# Debian keeps the PostgreSQL server binaries under /usr/lib/postgresql/<major>/bin.
postgres_bin() {
    local found
    found=$(first_found postgres)
    if [[ -z $found ]]; then
        found=$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sort -V | tail -n 1 || true)
    fi
    printf '%s\n' "$found"
}

toxiproxy_version() {
    local server=$REPO/tools/bin/toxiproxy-server stamp=$REPO/tools/bin/.toxiproxy-version
    [[ -x $server ]] || return 1
    # `go install` builds carry no version string (they report "git"): the stamp written by
    # scripts/setup.sh records which release was built.
    if [[ -r $stamp ]]; then
        printf '%s (tools/bin/toxiproxy-server, built by scripts/setup.sh)\n' "$(<"$stamp")"
    else
        printf 'unknown version (tools/bin/toxiproxy-server placed by hand)\n'
    fi
}

show python "$(first_found "$REPO/.venv/bin/python")" --version
show prometheus "$(first_found prometheus)" --version
show alertmanager "$(first_found prometheus-alertmanager alertmanager)" --version
show redis "$(first_found redis-server)" --version
show postgres "$(postgres_bin)" --version
show toxiproxy printf '%s\n' "$(toxiproxy_version || true)"

exit "$missing"
