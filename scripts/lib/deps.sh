# scripts/lib/deps.sh: installs the Debian packages tvsync needs to build, test
# and run, but only the missing ones (sourced by scripts/check and scripts/quickstart).

# Packages for building and running tvsync.
TVSYNC_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config libpq-dev libevent-dev
  libcjson-dev check libinih-dev libsystemd-dev libjwt-dev libssl-dev postgresql-15 postgresql-15-wal2json curl python3"
# Packages only the tests and benchmarks need.
TVSYNC_TEST_PACKAGES="clang libclang-rt-14-dev valgrind scdoc systemd prometheus wrk chromium procps"

tvsync_missing_packages() {
    local missing="" package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $package"
        fi
    done
    echo "$missing"
}

# tvsync_install_packages PACKAGE...: apt-get installs what is missing.
tvsync_install_packages() {
    local missing
    missing=$(tvsync_missing_packages "$@")
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        missing="$missing nodejs npm"
    fi
    [ -n "${missing// /}" ] || return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "tvsync: these packages are missing and we are not root: $missing" >&2
            echo "tvsync: install them with: apt-get install$missing" >&2
            return 1
        fi
    fi
    echo "tvsync: installing:$missing"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

# tvsync_build [CONFIGURE-ARGS...]: autoreconf (once), configure (when the
# arguments change), make.
tvsync_build() {
    local stamp=".tvsync-configure-args"
    if [ ! -x configure ] || [ configure.ac -nt configure ]; then
        autoreconf -fi
    fi
    if [ ! -f Makefile ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$*" ]; then
        ./configure "$@"
        echo "$*" > "$stamp"
    fi
    make -j"$(nproc)"
}
