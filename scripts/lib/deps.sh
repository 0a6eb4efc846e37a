# scripts/lib/deps.sh: installs the Debian packages tvsync needs to build, test
# and run, but only the missing ones (sourced by scripts/check and scripts/quickstart).

# Packages for building and running tvsync.
TVSYNC_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config libpq-dev libevent-dev
  libcjson-dev check libinih-dev libsystemd-dev libjwt-dev libssl-dev postgresql-15 postgresql-15-wal2json curl python3"
# Packages only the tests and benchmarks need.
# (libstdc++6: the npm PostgreSQL 16-18 builds link it; the rest of their libraries they carry.)
TVSYNC_TEST_PACKAGES="clang libclang-rt-14-dev valgrind scdoc systemd prometheus wrk chromium procps libstdc++6"

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

# PostgreSQL 16, 17 and 18 for the tests (TVSYNC_PG_MAJOR in tests/lib/pgcluster.sh): Debian 12
# packages only 15, so their server binaries come from the npm packages pinned in
# tests/postgres/package-lock.json; the client tools stay Debian's 15.
TVSYNC_PG_MAJORS="16 17 18"
TVSYNC_PG15_BINDIR=/usr/lib/postgresql/15/bin
# The client tools linked beside each npm server (the npm packages ship none).
TVSYNC_PG_CLIENT_TOOLS="psql createdb dropdb createuser dropuser pg_dump pg_dumpall pg_restore pgbench
  pg_isready pg_recvlogical pg_receivewal pg_basebackup vacuumdb reindexdb clusterdb pg_amcheck"

# tvsync_postgres_cache: prints the cache folder (TVSYNC_PG_CACHE, else outside the source tree).
# As root the test clusters run as postgres, which cannot enter /root: then /var/cache.
tvsync_postgres_cache() {
    if [ -n "${TVSYNC_PG_CACHE:-}" ]; then
        echo "$TVSYNC_PG_CACHE"
    elif [ "$(id -u)" = 0 ]; then
        echo /var/cache/tvsync/postgres
    else
        echo "${XDG_CACHE_HOME:-$HOME/.cache}/tvsync/postgres"
    fi
}

# tvsync_postgres_install_dir [SRCDIR]: prints the folder the pinned set installs to: one per
# package-lock.json content, so a changed pin installs beside the old one, never over it.
tvsync_postgres_install_dir() {
    local lock=${1:-${TVSYNC_SRCDIR:-.}}/tests/postgres/package-lock.json sum
    sum=$(sha256sum "$lock" 2>/dev/null | cut -c1-16)
    if [ -z "$sum" ]; then
        echo "tvsync: $lock not found" >&2
        return 1
    fi
    echo "$(tvsync_postgres_cache)/$sum"
}

# tvsync_postgres_bindir MAJOR [SRCDIR]: prints the bin folder of that major: Debian's for 15;
# for 16-18 a folder (made by tvsync_install_postgres_versions) holding initdb, pg_ctl and
# postgres of that major beside Debian's 15 client tools, so scripts find all in one place.
tvsync_postgres_bindir() {
    local dir
    case $1 in
        15) echo "$TVSYNC_PG15_BINDIR" ;;
        16|17|18)
            dir=$(tvsync_postgres_install_dir "${2:-}") || return 1
            echo "$dir/bin-$1" ;;
        *)
            echo "tvsync: PostgreSQL $1 is not one the tests know (15, 16, 17, 18)" >&2
            return 1 ;;
    esac
}

# tvsync_install_postgres_versions [SRCDIR]: npm ci of tests/postgres into the cache folder,
# once per package-lock.json (afterwards it returns at once). Needs npm and, the first time,
# the npm registry. Several sessions may call it at once: one installs, the others wait.
tvsync_install_postgres_versions() {
    local srcdir=${1:-${TVSYNC_SRCDIR:-.}} cache dir
    cache=$(tvsync_postgres_cache)
    dir=$(tvsync_postgres_install_dir "$srcdir") || return 1
    [ -f "$dir/.installed" ] && return 0
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        echo "tvsync: PostgreSQL 16-18 for the tests come from npm, which is missing: apt-get install nodejs npm" >&2
        return 1
    fi
    # Readable by all: the clusters run as postgres when we are root.
    (umask 022 && mkdir -p "$cache") || return 1
    (
        umask 022
        flock 9 || exit 1
        [ -f "$dir/.installed" ] && exit 0
        work=$(mktemp -d "$cache/.install.XXXXXX") || exit 1
        trap 'rm -rf "$work"' EXIT
        chmod 755 "$work"
        cp "$srcdir/tests/postgres/package.json" "$srcdir/tests/postgres/package-lock.json" "$work/" || exit 1
        echo "tvsync: installing PostgreSQL $TVSYNC_PG_MAJORS server binaries (npm ci) in $dir"
        # Without scripts: what npm runs for us differs across npm versions; the one thing the
        # packages' install script does (restore the libraries' symlinks) is done below.
        if ! (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
            echo "tvsync: npm ci of tests/postgres failed (it needs the npm registry the first time)" >&2
            exit 1
        fi
        for major in $TVSYNC_PG_MAJORS; do
            tvsync__postgres_link_bin "$work" "$major" || exit 1
        done
        touch "$work/.installed"
        rm -rf "$dir"
        mv "$work" "$dir" || exit 1
        trap - EXIT
    ) 9>"$cache/.lock"
}

# tvsync__postgres_link_bin WORK MAJOR: restores the package's symlinks (npm tarballs carry
# none), makes WORK/bin-MAJOR and checks the server runs here (its libraries are present).
tvsync__postgres_link_bin() {
    local work=$1 major=$2 package bin tool version
    package=$work/node_modules/pg$major
    bin=$work/bin-$major
    node -e '
        const fs = require("fs"), path = require("path");
        const root = process.argv[1];
        for (const { source, target } of JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json"), "utf8"))) {
            const link = path.join(root, target);
            try { fs.lstatSync(link); continue; } catch (e) { /* missing: make it */ }
            fs.symlinkSync(path.relative(path.dirname(link), path.join(root, source)), link);
        }' "$package" || return 1
    mkdir -p "$bin" || return 1
    for tool in initdb pg_ctl postgres; do
        # Relative, so the folder can be renamed into place.
        ln -sfn "../node_modules/pg$major/native/bin/$tool" "$bin/$tool" || return 1
    done
    for tool in $TVSYNC_PG_CLIENT_TOOLS; do
        ln -sfn "$TVSYNC_PG15_BINDIR/$tool" "$bin/$tool" || return 1
    done
    version=$("$bin/postgres" --version 2>&1)
    case $version in
        "postgres (PostgreSQL) $major."*) ;;
        *)
            echo "tvsync: the npm PostgreSQL $major server does not run here: $version" >&2
            ldd "$package/native/bin/postgres" | grep "not found" >&2
            return 1 ;;
    esac
}
