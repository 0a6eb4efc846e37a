#!/bin/sh
# systemd_install: `make install` places binaries, units, sysusers/tmpfiles entries,
# man pages, the example config, migrations and the blog schema; `make uninstall` removes them.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
dest="$work/dest"

# The value of a make variable of the build tree (install paths are made of
# ${prefix} and friends, which only make expands).
# Run from `make check`, the parent's MAKEFLAGS would add "Entering directory"
# lines and jobserver warnings: each make here starts clean.
submake() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$TVSYNC_BUILDDIR" "$@"
}
make_var() {
    printf 'include Makefile\nprint-tvsync-var:\n\t@echo $(%s)\n' "$1" | submake -f - print-tvsync-var
}

exists() { test -e "$1" && echo yes || echo "no ($1)"; }

submake install DESTDIR="$dest" >"$work/install.log" 2>&1
status=$?
[ $status -eq 0 ] || cat "$work/install.log"
assert_eq 0 "$status" "make install DESTDIR=... succeeds"

bindir=$(make_var bindir)
unitdir=$(make_var systemdsystemunitdir)
sysusersdir=$(make_var sysusersdir)
tmpfilesdir=$(make_var tmpfilesdir)
mandir=$(make_var mandir)
sysconfdir=$(make_var sysconfdir)
pkgdatadir=$(make_var pkgdatadir)

for program in $(make_var bin_PROGRAMS); do
    name=${program##*/}
    assert_eq yes "$(test -x "$dest$bindir/$name" && echo yes || echo no)" "binary $name installed in $bindir"
done

for unit in tvsync-cdc.service tvsync-cdc@.service tvsync-server.service; do
    assert_eq yes "$(exists "$dest$unitdir/$unit")" "unit $unit installed in $unitdir"
done
# The installed units start the installed binaries.
assert_contains "$(cat "$dest$unitdir/tvsync-cdc.service" 2>/dev/null)" "ExecStart=$bindir/tvsync-cdc" \
    "tvsync-cdc.service starts $bindir/tvsync-cdc"
assert_contains "$(cat "$dest$unitdir/tvsync-server.service" 2>/dev/null)" "ExecStart=$bindir/tvsync-server" \
    "tvsync-server.service starts $bindir/tvsync-server"
assert_contains "$(cat "$dest$unitdir/tvsync-cdc@.service" 2>/dev/null)" "--config $sysconfdir/tvsync/%i.conf" \
    "tvsync-cdc@.service reads the configuration its instance names"

assert_eq yes "$(exists "$dest$sysusersdir/tvsync.conf")" "sysusers.d entry installed"
assert_contains "$(cat "$dest$sysusersdir/tvsync.conf" 2>/dev/null)" "u tvsync" "sysusers.d entry creates the tvsync user"
assert_eq yes "$(exists "$dest$tmpfilesdir/tvsync.conf")" "tmpfiles.d entry installed"
assert_eq yes "$(exists "$dest$sysconfdir/tvsync/tvsync.conf.example")" "example configuration installed"

for page in tvsync-server.8 tvsync-cdc.8 tvsync-slot.8 tvsync-migrate.8 tvsync.conf.5 tvsync-intents.7; do
    section=${page##*.}
    assert_eq yes "$(exists "$dest$mandir/man$section/$page")" "man page $page installed"
    # The page must be roff that man renders with its NAME section.
    if [ -e "$dest$mandir/man$section/$page" ]; then
        assert_contains "$(MANWIDTH=80 man -l "$dest$mandir/man$section/$page" 2>/dev/null)" "NAME" "$page renders"
    fi
done

for file in index.html LICENSE.graphiql LICENSE.react LICENSE.react-dom; do
    assert_eq yes "$(exists "$dest$pkgdatadir/graphiql/$file")" "GraphiQL $file installed"
done
assert_contains "$(cat "$dest$pkgdatadir/graphiql/index.html" 2>/dev/null)" "GraphiQL.createFetcher" \
    "the installed GraphiQL page is the real page"
for file in prometheus.yml tvsync-alerts.yml tvsync-alerts.test.yml grafana-dashboard.json; do
    assert_eq yes "$(exists "$dest$pkgdatadir/monitoring/$file")" "monitoring/$file installed"
done

# Migrations and the examples belong to other parts of the tree; whatever the source
# tree has must be installed: the engine's set in migrations/, each example whole.
migration_count=0
for migration in "$TVSYNC_SRCDIR"/migrations/*.sql; do
    [ -e "$migration" ] || continue
    migration_count=$((migration_count + 1))
    assert_eq yes "$(exists "$dest$pkgdatadir/migrations/${migration##*/}")" "migration ${migration##*/} installed"
done
echo "migrations in the source tree: $migration_count"
for example in "$TVSYNC_SRCDIR"/examples/*/; do
    [ -d "$example" ] || continue
    name=$(basename "$example")
    for file in "$example"*.md "$example"*.sql "$example"*.graphql "$example"migrations/*.sql; do
        [ -e "$file" ] || continue
        relative=${file#"$TVSYNC_SRCDIR/"}
        assert_eq yes "$(exists "$dest$pkgdatadir/$relative")" "example $name: $relative installed"
    done
done
assert_eq no "$(test -e "$dest$pkgdatadir/schema.graphql" && echo yes || echo no)" "no schema is installed as a default"

submake uninstall DESTDIR="$dest" >"$work/uninstall.log" 2>&1
assert_eq 0 "$?" "make uninstall DESTDIR=... succeeds"
left=$(find "$dest" -type f -o -type l)
assert_eq "" "$left" "make uninstall leaves no file behind"

test_summary
