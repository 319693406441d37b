# shellcheck shell=bash
# Shared bootstrap for tools/build-rpm, tools/run-tests and tools/build-box of a
# checkout: make sure the host packages and the Python environment exist,
# quickly when they do. Ships inside the toolkit (package data): an installed
# toolkit sources it for the host packages of the Vagrant path.
#
# Why a shell prelude: on a fresh Debian 12 machine there is no virtualenv yet,
# so the first thing that runs cannot be the Python toolkit itself.

# The checkout: tools/phoenix-rpm/phoenix_rpm/lib-env.sh -> three folders up.
PHOENIX_ROOT="${PHOENIX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
PHOENIX_TOOLKIT="$PHOENIX_ROOT/tools/phoenix-rpm"
PHOENIX_VENV="${PHOENIX_VENV:-$PHOENIX_ROOT/.venv}"

# Host packages the toolkit drives (rpmbuild, rpmlint's rpm bindings, the box;
# createrepo_c for --repo, dnf for the repository tests: docs/repo.md).
PHOENIX_APT_PACKAGES=(rpm python3-rpm python3-venv python3-dev gcc debootstrap
    systemd-container iproute2 openssh-client netcat-openbsd curl git gnupg wrk libmagic1 cpio rpm2cpio logrotate
    createrepo-c dnf dnf-plugins-core)
PHOENIX_DNF_PACKAGES=(rpm-build rpmlint python3-rpm python3-devel gcc debootstrap
    systemd-container iproute openssh-clients nmap-ncat curl git gnupg2 wrk file-libs cpio rpm-sign logrotate
    createrepo_c dnf dnf-plugins-core)

# Only for the framework's tests (tools/run-tests): a real broker for the RPC and
# notification workers. tests/process/rabbitmq_broker.py runs a private node on
# free loopback ports; the package's own service is not used (see
# phoenix_test_packages). Not needed to build or verify an RPM.
PHOENIX_TEST_APT_PACKAGES=(rabbitmq-server)
PHOENIX_TEST_DNF_PACKAGES=(rabbitmq-server)

# Only for the Vagrant path (tools/build-rpm --verify --box vagrant, tests/vagrant):
# installed on first use by phoenix_vagrant_packages, not for every build.
# Debian: a hand-started libvirtd (no libvirt-daemon-system, so no default NAT network).
PHOENIX_VAGRANT_APT_PACKAGES=(vagrant vagrant-libvirt libvirt-daemon libvirt-daemon-driver-qemu
    libvirt-clients qemu-system-x86 qemu-utils e2fsprogs)
PHOENIX_VAGRANT_DNF_PACKAGES=(vagrant vagrant-libvirt libvirt-daemon libvirt-daemon-driver-qemu
    libvirt-client qemu-system-x86 qemu-img e2fsprogs)

_phoenix_say() { printf '[phoenix] %s\n' "$*" >&2; }

# `tools/build-rpm -v` shows the set-up's commands as it runs them too, as
# PHOENIX_VERBOSE=1 does: the set-up runs before the CLI reads its options.
phoenix_verbose_from_args() {
    local arg
    for arg in "$@"; do
        case "$arg" in
            --) break ;;
            -v|--verbose|-[a-zA-Z]*v*) export PHOENIX_VERBOSE=1; break ;;
        esac
    done
}

phoenix_host_packages() {
    local missing=() pkg
    if command -v dpkg-query >/dev/null 2>&1; then
        for pkg in "${PHOENIX_APT_PACKAGES[@]}"; do
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
                || missing+=("$pkg")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        if [ "$(id -u)" != 0 ]; then
            _phoenix_say "error: missing host packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
            exit 2
        fi
        _phoenix_say "installing host packages with apt-get: ${missing[*]}"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >&2
    elif command -v rpm >/dev/null 2>&1 && command -v dnf >/dev/null 2>&1; then
        for pkg in "${PHOENIX_DNF_PACKAGES[@]}"; do
            rpm -q "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        if [ "$(id -u)" != 0 ]; then
            _phoenix_say "error: missing host packages: ${missing[*]}; run as root or: sudo dnf install ${missing[*]}"
            exit 2
        fi
        _phoenix_say "installing host packages with dnf: ${missing[*]}"
        dnf install -y -q "${missing[@]}" >&2
    else
        _phoenix_say "warning: unknown package manager; make sure these are installed: ${PHOENIX_APT_PACKAGES[*]}"
    fi
}

phoenix_python() {
    # The distribution's python3 first: its rpm bindings (python3-rpm) are the
    # ones the PyPI 'rpm' shim loads, and it is what a fresh machine has.
    if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# Run one set-up command quietly: its output (pip's progress, setuptools'
# deprecation warnings: about 150 lines on a first run) goes to the log file
# under the venv; PHOENIX_VERBOSE=1 shows it instead. On failure the log's
# tail and its path are shown and the set-up stops.
_phoenix_setup_step() {
    if [ -n "${PHOENIX_VERBOSE:-}" ]; then
        "$@" >&2 && return 0
        _phoenix_say "error: environment set-up failed: $*"
        exit 1
    fi
    if ! "$@" >>"$PHOENIX_SETUP_LOG" 2>&1; then
        printf 'FAILED\n' >&2
        _phoenix_say "error: environment set-up failed: $*"
        tail -n 30 "$PHOENIX_SETUP_LOG" | sed 's/^/    /' >&2
        _phoenix_say "full log: $PHOENIX_SETUP_LOG (PHOENIX_VERBOSE=1 shows it as it runs)"
        exit 1
    fi
}

phoenix_venv() {
    local stamp="$PHOENIX_VENV/.phoenix-stamp" want
    want="$(cat "$PHOENIX_ROOT/requirements.txt" "$PHOENIX_ROOT/test-requirements.txt" \
        "$PHOENIX_ROOT/upper-constraints.txt" "$PHOENIX_ROOT/setup.cfg" \
        "$PHOENIX_TOOLKIT/requirements.txt" "$PHOENIX_TOOLKIT/pyproject.toml" 2>/dev/null | sha256sum | cut -c1-16)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    local started=$SECONDS
    mkdir -p "$PHOENIX_VENV"
    PHOENIX_SETUP_LOG="$PHOENIX_VENV/.phoenix-setup.log"
    : > "$PHOENIX_SETUP_LOG"
    # One progress line: the start now, "ready in N s" appended when done.
    if [ -n "${PHOENIX_VERBOSE:-}" ]; then
        _phoenix_say "creating the Python environment in $PHOENIX_VENV"
    else
        printf '[phoenix] creating the Python environment in %s (log: %s) ... ' \
            "$PHOENIX_VENV" "$PHOENIX_SETUP_LOG" >&2
    fi
    [ -x "$PHOENIX_VENV/bin/python" ] || _phoenix_setup_step "$(phoenix_python)" -m venv "$PHOENIX_VENV"
    local pip=("$PHOENIX_VENV/bin/pip" install --disable-pip-version-check --no-input)
    _phoenix_setup_step "${pip[@]}" --upgrade pip
    _phoenix_setup_step "${pip[@]}" -c "$PHOENIX_ROOT/upper-constraints.txt" setuptools wheel
    _phoenix_setup_step "${pip[@]}" -c "$PHOENIX_ROOT/upper-constraints.txt" \
        -r "$PHOENIX_ROOT/requirements.txt" -r "$PHOENIX_ROOT/test-requirements.txt" \
        -r "$PHOENIX_TOOLKIT/requirements.txt"
    # The project itself, editable, so that apollo-api & co. are on PATH in the venv.
    _phoenix_setup_step env PBR_VERSION="${PBR_VERSION:-0.0.0}" "${pip[@]}" \
        --no-build-isolation --no-deps -e "$PHOENIX_ROOT"
    # The toolkit, editable: `build-rpm` in the venv runs this checkout's code.
    _phoenix_setup_step "${pip[@]}" --no-build-isolation --no-deps -e "$PHOENIX_TOOLKIT"
    echo "$want" > "$stamp"
    if [ -n "${PHOENIX_VERBOSE:-}" ]; then
        _phoenix_say "Python environment ready ($((SECONDS - started)) s)"
    else
        printf 'ready in %d s\n' "$((SECONDS - started))" >&2
    fi
}

phoenix_test_packages() {
    # The test tier's host packages, through the same check-then-install.
    local fresh=0
    command -v dpkg-query >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' rabbitmq-server \
        2>/dev/null | grep -q 'install ok installed' && fresh=1
    local PHOENIX_APT_PACKAGES=("${PHOENIX_TEST_APT_PACKAGES[@]}")
    local PHOENIX_DNF_PACKAGES=("${PHOENIX_TEST_DNF_PACKAGES[@]}")
    phoenix_host_packages
    # Debian's postinst enables and starts the system broker (5672, epmd 4369)
    # on a systemd host. The tests never use it: when we installed it just now,
    # switch it off again so it costs nothing (one already there is left alone).
    if [ "$fresh" = 1 ] && [ -d /run/systemd/system ]; then
        _phoenix_say "disabling the system rabbitmq-server service (the tests run their own node)"
        systemctl disable --now rabbitmq-server.service >/dev/null 2>&1 || true
    fi
}

phoenix_vagrant_packages() {
    # The Vagrant path's host packages, through the same check-then-install as the base ones.
    local PHOENIX_APT_PACKAGES=("${PHOENIX_VAGRANT_APT_PACKAGES[@]}")
    local PHOENIX_DNF_PACKAGES=("${PHOENIX_VAGRANT_DNF_PACKAGES[@]}")
    phoenix_host_packages
}
