/* exit_codes: the process exit statuses every tvsync binary uses.
 * They are documented in each --help and in the man pages; never renumber them. */
#ifndef TVSYNC_COMMON_EXIT_CODES_H
#define TVSYNC_COMMON_EXIT_CODES_H

enum tvsync_exit {
    TVSYNC_EXIT_OK = 0,        /* success */
    TVSYNC_EXIT_FAILURE = 1,   /* the command ran and found a problem (check failed, verify differs) */
    TVSYNC_EXIT_USAGE = 2,     /* bad command line */
    TVSYNC_EXIT_CONFIG = 3,    /* bad configuration file, key or value */
    TVSYNC_EXIT_DATABASE = 4,  /* cannot connect, or a database error that retrying will not fix */
    TVSYNC_EXIT_SLOT = 5,      /* replication slot or origin missing, or its WAL was removed */
    TVSYNC_EXIT_SOFTWARE = 70, /* internal error (a bug) */
};

/* The text block every --help prints under "Exit status:". */
#define TVSYNC_EXIT_CODES_HELP \
    "Exit status:\n" \
    "  0   success\n" \
    "  1   the command ran and found a problem (check failed, verify differs)\n" \
    "  2   usage error (unknown command or option)\n" \
    "  3   configuration error (file, key or value)\n" \
    "  4   database unreachable, or a database error retrying will not fix\n" \
    "  5   replication slot or origin missing, or its WAL was removed\n" \
    "  70  internal error\n"

#endif
