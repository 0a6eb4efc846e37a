#!/bin/sh
# man_pages: every committed roff page equals what scdoc makes of its source (so a
# build without scdoc installs current pages), and renders without groff warnings.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"

epoch=$(sed -n 's/^MAN_SOURCE_DATE_EPOCH = //p' "$TVSYNC_SRCDIR/man/include.am")
assert_eq yes "$([ -n "$epoch" ] && echo yes || echo no)" "man/include.am sets MAN_SOURCE_DATE_EPOCH"
command -v scdoc >/dev/null 2>&1 || { echo "FAIL: scdoc is missing (apt-get install scdoc)"; exit 1; }

for source in "$TVSYNC_SRCDIR"/man/*.scd; do
    page=${source%.scd}
    name=${page##*/}
    rendered=$(SOURCE_DATE_EPOCH=$epoch scdoc <"$source" 2>&1)
    assert_eq 0 "$?" "scdoc accepts $name.scd"
    if [ "$rendered" = "$(cat "$page" 2>/dev/null)" ]; then
        assert_eq same same "man/$name is up to date with $name.scd"
    else
        assert_eq same differs "man/$name is up to date with $name.scd (run: make man/$name)"
    fi
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    assert_eq "" "$warnings" "$name renders without warnings"
    text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
    assert_contains "$text" "SEE ALSO" "$name has a SEE ALSO section"
done

# Each daemon and tool page documents the exit statuses of exit_codes.h.
for name in tvsync-cdc.8 tvsync-server.8 tvsync-slot.8 tvsync-migrate.8; do
    text=$(MANWIDTH=80 man -l "$TVSYNC_SRCDIR/man/$name" 2>/dev/null)
    assert_contains "$text" "EXIT STATUS" "$name documents its exit statuses"
    assert_contains "$text" "usage error" "$name documents exit status 2"
done

test_summary
