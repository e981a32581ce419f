#!/usr/bin/env bash
# Install what the harness needs, and only what is missing.
#
#   Debian packages   prometheus, prometheus-alertmanager, postgresql, redis-server, chromium
#                     (apt-get; chromium loads the HTML report in a test)
#   Toxiproxy         tools/bin/toxiproxy-server and tools/bin/toxiproxy-cli (go install, pinned)
#   Python            .venv with every package pinned in requirements.lock (hashes checked),
#                     then this project itself, editable (`make lock` updates the lock file)
#
# Safe to run any number of times: when everything is present it prints one "ok:" line per
# component and changes nothing. It first checks every component, and if something cannot be
# installed (not root, no apt-get, no Go, no Python >= 3.11) it says what to install and exits 1
# before changing anything.
#
# Overrides (environment):
#   SETUP_PYTHON          interpreter used to create the venv          (default: python3)
#   SETUP_GO              Go toolchain used to build Toxiproxy          (default: go)
#   SETUP_APT_GET         apt-get used to install Debian packages       (default: apt-get)
#   SETUP_VENV            virtualenv directory                          (default: <repo>/.venv)
# Test seams (simulate a machine state without changing the machine):
#   SETUP_ASSUME_NONROOT=1          behave as if not running as root
#   SETUP_ASSUME_MISSING="a b"      treat these components as absent: any Debian package above,
#                                   or "toxiproxy"
set -euo pipefail

# The one place the Toxiproxy version is pinned. Its go.mod (v2.12.0) declares `go 1.23.0`.
TOXIPROXY_VERSION=v2.12.0
GO_MIN_MINOR=23
PYTHON_MIN_MINOR=11

APT_PACKAGES=(prometheus prometheus-alertmanager postgresql redis-server chromium)

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$REPO/tools
# The stamp sits next to the binaries it describes: deleting tools/ forgets both.
TOXIPROXY_STAMP=$TOOLS/bin/.toxiproxy-version
VENV=${SETUP_VENV:-$REPO/.venv}
VENV_NAME=${VENV#"$REPO/"}
# Kept inside the venv so that a recreated venv always gets the project installed again.
PROJECT_STAMP=$VENV/.pyproject.sha256
LOCK_FILE=$REPO/requirements.lock

PYTHON=${SETUP_PYTHON:-python3}
GO=${SETUP_GO:-go}
APT_GET=${SETUP_APT_GET:-apt-get}
ASSUME_MISSING=" ${SETUP_ASSUME_MISSING:-} "

started_us=${EPOCHREALTIME//[!0-9]/}
blockers=()         # messages for what the user must do; any entry stops the run
apt_missing=()      # Debian packages to install
planned=()          # what this run would install, for the message when something blocks
build_toxiproxy=0
venv_action=""      # "", create, recreate
project_reason=""   # non-empty when `pip install -e` must run

say() { printf '%s\n' "$*"; }
block() { blockers+=("$*"); }
assumed_missing() { [[ $ASSUME_MISSING == *" $1 "* ]]; }
is_root() { [[ $EUID -eq 0 && ${SETUP_ASSUME_NONROOT:-0} != 1 ]]; }

# "5:7.0.15-1~deb12u10" -> "7.0", "15+248+deb12u1" -> "15", "2.42.0+ds-5" -> "2.42"
short_version() {
    local v=${1#*:}
    v=${v%%[-+~]*}
    local major minor
    IFS=. read -r major minor _ <<<"$v"
    printf '%s\n' "${major}${minor:+.$minor}"
}

# Binaries that stand for each package, to recognise installs made without apt and to tell
# users of other distributions what to provide.
package_binaries() {
    case $1 in
        prometheus) echo "prometheus promtool" ;;
        prometheus-alertmanager) echo "prometheus-alertmanager (or alertmanager) amtool" ;;
        postgresql) echo "postgres initdb pg_ctl (PostgreSQL ≥ 15)" ;;
        redis-server) echo "redis-server (Redis ≥ 7.0)" ;;
        chromium) echo "chromium (headless, to check the HTML report)" ;;
    esac
}

find_package_binary() {
    case $1 in
        prometheus) command -v prometheus ;;
        prometheus-alertmanager) command -v prometheus-alertmanager || command -v alertmanager ;;
        redis-server) command -v redis-server ;;
        chromium) command -v chromium ;;
        postgresql)
            # Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin.
            command -v postgres || compgen -G '/usr/lib/postgresql/*/bin/postgres' | tail -n 1
            ;;
    esac
}

acquire_lock() {
    # Two `make` targets started together must not run apt-get or pip at the same time.
    command -v flock >/dev/null || return 0
    mkdir -p "$TOOLS"
    exec 9>"$TOOLS/.setup.lock"
    if ! flock -n 9; then
        say "waiting: another setup is running in $REPO"
        flock 9
    fi
}

check_apt_packages() {
    local -A status=() version=()
    local pkg st ver
    if command -v dpkg-query >/dev/null; then
        # One dpkg-query call for all packages keeps the no-op run fast.
        while IFS=$'\t' read -r pkg st ver; do
            status[$pkg]=$st
            version[$pkg]=$ver
        done < <(dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n' \
            "${APT_PACKAGES[@]}" 2>/dev/null || true)
    fi
    local path
    for pkg in "${APT_PACKAGES[@]}"; do
        if assumed_missing "$pkg"; then
            apt_missing+=("$pkg")
        elif [[ ${status[$pkg]:-} == ii* ]]; then
            say "ok: $pkg $(short_version "${version[$pkg]}") present"
        elif path=$(find_package_binary "$pkg") && [[ -n $path ]]; then
            say "ok: $pkg present ($path, not installed by apt)"
        else
            apt_missing+=("$pkg")
        fi
    done
    ((${#apt_missing[@]})) || return 0
    planned+=("${apt_missing[@]}")

    if ! command -v "$APT_GET" >/dev/null; then
        local lines=""
        for pkg in "${apt_missing[@]}"; do
            lines+=$'\n'"  $pkg: $(package_binaries "$pkg")"
        done
        block "missing: ${apt_missing[*]}, and apt-get is not available." \
"Install them with your system's package manager so that these binaries exist:$lines"
    elif ! is_root; then
        block "missing Debian packages: ${apt_missing[*]}. Installing them needs root; run as root:
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${apt_missing[*]}
then run make setup again."
    fi
}

# Prints the Go version ("1.26") or fails when Go is absent or older than 1.$GO_MIN_MINOR.
go_usable() {
    command -v "$GO" >/dev/null || return 1
    local v major minor
    v=$("$GO" env GOVERSION 2>/dev/null) || return 1
    v=${v#go}
    IFS=. read -r major minor _ <<<"$v"
    minor=${minor%%[!0-9]*}
    [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
    printf '%s.%s\n' "$major" "$minor"
    ((major > 1 || minor >= GO_MIN_MINOR))
}

check_toxiproxy() {
    local server=$TOOLS/bin/toxiproxy-server cli=$TOOLS/bin/toxiproxy-cli stamp=""
    [[ -r $TOXIPROXY_STAMP ]] && stamp=$(<"$TOXIPROXY_STAMP")
    if ! assumed_missing toxiproxy && [[ -x $server && -x $cli && $stamp == "$TOXIPROXY_VERSION" ]]; then
        say "ok: toxiproxy $TOXIPROXY_VERSION present"
        return 0
    fi
    local go_version
    if go_version=$(go_usable); then
        build_toxiproxy=1
        planned+=("toxiproxy $TOXIPROXY_VERSION")
    elif ! assumed_missing toxiproxy && [[ -x $server ]]; then
        # A binary placed by hand is accepted when it cannot be rebuilt here.
        say "ok: toxiproxy present (tools/bin/toxiproxy-server, version not checked:" \
            "no Go ≥ 1.$GO_MIN_MINOR to build the pinned $TOXIPROXY_VERSION)"
    else
        local found="Go is not installed"
        [[ -n $go_version ]] && found="found Go $go_version"
        block "toxiproxy: tools/bin/toxiproxy-server is missing and cannot be built ($found):" \
"install Go ≥ 1.$GO_MIN_MINOR (https://go.dev/dl) or place toxiproxy-server in tools/bin"
    fi
}

# Prints the interpreter's version; fails when it does not run or is too old. One start only.
python_ok() {
    "$1" -c "import platform, sys; print(platform.python_version());
sys.exit(sys.version_info < (3, $PYTHON_MIN_MINOR))" 2>/dev/null
}

check_python_for_venv() {
    local version
    if ! command -v "$PYTHON" >/dev/null \
        || ! version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
    then
        block "python: no working '$PYTHON' to create $VENV_NAME:" \
"install Python ≥ 3.$PYTHON_MIN_MINOR (Debian 12: apt-get install python3 python3-venv) or set SETUP_PYTHON"
        return 0
    fi
    local major minor
    IFS=. read -r major minor <<<"$version"
    if ((major < 3 || (major == 3 && minor < PYTHON_MIN_MINOR))); then
        block "python: Python ≥ 3.$PYTHON_MIN_MINOR is required, '$PYTHON' is $version:" \
"install Python ≥ 3.$PYTHON_MIN_MINOR (Debian 12: apt-get install python3 python3-venv) or set SETUP_PYTHON"
    elif ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        block "python: '$PYTHON' $version cannot create virtualenvs (no ensurepip):" \
"install python3-venv (Debian: apt-get install python3-venv)"
    fi
}

check_venv() {
    local venv_version
    if [[ -x $VENV/bin/python ]] && venv_version=$(python_ok "$VENV/bin/python"); then
        say "ok: $VENV_NAME present (Python $venv_version)"
    else
        venv_action=create
        [[ -e $VENV ]] && venv_action=recreate
        check_python_for_venv
        planned+=("$VENV_NAME")
    fi

    local recorded=""
    [[ -z $venv_action && -r $PROJECT_STAMP ]] && recorded=$(<"$PROJECT_STAMP")
    if [[ -n $venv_action ]]; then
        project_reason="new virtualenv"
    elif [[ -z $recorded ]]; then
        project_reason="no record of a previous install"
    elif [[ $recorded != "$pyproject_hash" ]]; then
        project_reason="requirements.lock or pyproject.toml changed since the last install"
    else
        say "ok: project installed in $VENV_NAME (requirements.lock and pyproject.toml unchanged)"
        return 0
    fi
    planned+=("project into $VENV_NAME")
}

# --- actions (only reached when nothing blocks) ----------------------------------------------

POLICY_RC_D=/usr/sbin/policy-rc.d
own_policy_rc_d=0
cleanup() {
    if ((own_policy_rc_d)); then rm -f "$POLICY_RC_D"; fi
}
trap cleanup EXIT

service_running() {
    if [[ -d /run/systemd/system ]]; then
        systemctl is-active --quiet "$1" 2>/dev/null
    else
        command -v service >/dev/null && service "$1" status >/dev/null 2>&1
    fi
}

install_apt_packages() {
    ((${#apt_missing[@]})) || return 0
    local pkg
    for pkg in "${apt_missing[@]}"; do say "installing: $pkg (apt-get)"; done
    # Packages must not start their system services: the harness runs its own instances on
    # its own ports. Debian's policy-rc.d mechanism forbids starts for the duration of the install.
    if [[ ! -e $POLICY_RC_D ]]; then
        printf '#!/bin/sh\n# temporary, from scripts/setup.sh: no service starts during install\nexit 101\n' \
            >"$POLICY_RC_D"
        chmod 0755 "$POLICY_RC_D"
        own_policy_rc_d=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    "$APT_GET" update
    "$APT_GET" install -y --no-install-recommends "${apt_missing[@]}"
    cleanup
    own_policy_rc_d=0
    # Belt and braces for init systems that ignore policy-rc.d: stop only the system service
    # instance the package may have started, never processes the harness runs itself.
    local svc
    for svc in "${apt_missing[@]}"; do
        if service_running "$svc"; then
            say "stopping: $svc system service (started by its package)"
            if [[ -d /run/systemd/system ]]; then systemctl stop "$svc"; else service "$svc" stop; fi
        fi
    done
}

# Creating a file is the only reliable test: `[[ -w ]]` looks at permission bits, which say yes
# to root even where nothing can be created (read-only or virtual file systems).
dir_writable() {
    mkdir -p -- "$1" 2>/dev/null || return 1
    local probe
    probe=$(mktemp -p "$1" .setup-probe.XXXXXX 2>/dev/null) || return 1
    rm -f -- "$probe"
}

# Use the default Go caches; fall back to caches under tools/ only when those are not writable
# (for example a read-only home directory).
go_cache_env() {
    local dir dirs
    mapfile -t dirs < <("$GO" env GOMODCACHE GOCACHE)
    for dir in "${dirs[@]}"; do
        if ! dir_writable "$dir"; then
            say "note: Go cache $dir is not writable; using $TOOLS/go instead"
            export GOPATH=$TOOLS/go GOMODCACHE=$TOOLS/go/pkg/mod GOCACHE=$TOOLS/go/cache
            # -modcacherw keeps the module cache deletable with a plain `rm -rf tools`.
            export GOFLAGS="${GOFLAGS:+$GOFLAGS }-modcacherw"
            return 0
        fi
    done
}

install_toxiproxy() {
    ((build_toxiproxy)) || return 0
    say "installing: toxiproxy $TOXIPROXY_VERSION (go install, about a minute)"
    go_cache_env
    local module=github.com/Shopify/toxiproxy/v2/cmd
    GOBIN=$TOOLS/go-bin "$GO" install "$module/server@$TOXIPROXY_VERSION" "$module/cli@$TOXIPROXY_VERSION"
    mkdir -p "$TOOLS/bin"
    rm -f "$TOXIPROXY_STAMP"
    # install + mv replaces the file atomically, so a toxiproxy-server that is running keeps
    # working (copying over it would fail with "Text file busy").
    install -m 0755 "$TOOLS/go-bin/server" "$TOOLS/bin/.toxiproxy-server.new"
    install -m 0755 "$TOOLS/go-bin/cli" "$TOOLS/bin/.toxiproxy-cli.new"
    mv -f "$TOOLS/bin/.toxiproxy-server.new" "$TOOLS/bin/toxiproxy-server"
    mv -f "$TOOLS/bin/.toxiproxy-cli.new" "$TOOLS/bin/toxiproxy-cli"
    printf '%s\n' "$TOXIPROXY_VERSION" >"$TOXIPROXY_STAMP"
}

install_venv() {
    case $venv_action in
        create)
            say "installing: $VENV_NAME (python -m venv)"
            "$PYTHON" -m venv "$VENV"
            ;;
        recreate)
            say "installing: $VENV_NAME again (its python is missing or older than 3.$PYTHON_MIN_MINOR)"
            "$PYTHON" -m venv --clear "$VENV"
            ;;
    esac
    [[ -n $project_reason ]] || return 0
    say "installing: requirements.lock and the project into $VENV_NAME ($project_reason)"
    rm -f "$PROJECT_STAMP"
    # Every package at its pinned version, each file checked against its hash; then the
    # project itself, with nothing more (the lock holds its build backend too).
    local pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
    "${pip[@]}" --require-hashes --no-deps -r "$LOCK_FILE"
    # setuptools tells every editable install that it is one; nothing to act on.
    (cd "$REPO" && PYTHONWARNINGS=ignore::UserWarning "${pip[@]}" --no-deps --no-build-isolation -e .)
    # The hash was read before pip ran: an edit made during the install triggers another one.
    printf '%s\n' "$pyproject_hash" >"$PROJECT_STAMP"
}

main() {
    acquire_lock
    pyproject_hash=$(cat "$REPO/pyproject.toml" "$LOCK_FILE" | sha256sum | cut -d' ' -f1)
    check_apt_packages
    check_toxiproxy
    check_venv

    if ((${#blockers[@]})); then
        local msg
        for msg in "${blockers[@]}"; do printf 'error: %s\n' "$msg" >&2; done
        local pending=""
        if ((${#planned[@]})); then
            printf -v pending '%s, ' "${planned[@]}"
            pending="; still to install: ${pending%, }"
        fi
        say "setup: stopped before installing anything$pending" >&2
        exit 1
    fi

    install_apt_packages
    install_toxiproxy
    install_venv
    local elapsed_ms=$(((${EPOCHREALTIME//[!0-9]/} - started_us) / 1000))
    say "setup: done in $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100))s"
}

main "$@"
