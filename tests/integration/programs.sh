# programs.sh: where the build tree puts each tvsync program, for the service tests.
# Sourced; needs TVSYNC_BUILDDIR. The Makefile is the authority, not a guessed path.

# program_path NAME: prints the build-tree path of the bin_PROGRAMS entry NAME
# (tvsync-cdc, tvsync-server, ...), or nothing when this tree does not build it.
program_path() {
    local entry
    for entry in $(printf 'include Makefile\nprint-tvsync-programs:\n\t@echo $(bin_PROGRAMS)\n' |
                   env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
                       make -s --no-print-directory -C "$TVSYNC_BUILDDIR" -f - print-tvsync-programs); do
        if [ "${entry##*/}" = "$1" ]; then
            echo "$TVSYNC_BUILDDIR/$entry"
            return 0
        fi
    done
    return 1
}
