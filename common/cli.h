/* cli: the command line every tvsync binary shares (--database, --config,
 * --log-level, --set, --help, --version) plus each binary's own options. */
#ifndef TVSYNC_COMMON_CLI_H
#define TVSYNC_COMMON_CLI_H

#include <stdbool.h>

#include "common/config.h"

typedef struct cli_option {
    const char *long_name;      /* "slot" for --slot */
    const char *argument_name;  /* "NAME"; NULL for a flag without a value */
    const char *config_key;     /* "slot.name" when the option sets a key, else NULL */
    const char *help;           /* one line */
} cli_option;

typedef struct cli_program {
    const char *name;           /* "tvsync-slot" */
    const char *synopsis;       /* "[OPTION]... COMMAND" */
    const char *description;    /* a paragraph printed under the usage line */
    const char *commands_help;  /* "Commands:\n  check ...\n" or NULL */
    const cli_option *options;  /* terminated by an entry with long_name NULL; may be NULL */
    const char *log_section;    /* "cdc" or "server": whose log_level key applies; NULL: none */
} cli_program;

/* What cli_load parsed: operands, the program's own options, and what is
 * needed to build the configuration again on reload. */
typedef struct cli_state {
    const cli_program *program;
    char *config_path;          /* NULL: the default path, optional */
    int operand_count;
    char **operands;            /* the non-option words, in order */
    int set_count;
    struct cli_setting {
        const char *long_name;  /* option that gave it ("set" for --set) */
        char *section, *key;    /* NULL for an option that is not a key */
        char *value;            /* "" for a flag */
    } *settings;
    char *log_level_flag;       /* --log-level value, NULL if absent */
} cli_state;

/* Parses argv, then builds *config: defaults, the file, the environment,
 * the flags. Sets the log level. Returns -1 when the program should go on,
 * otherwise the exit status to exit with (0 after --help or --version; 2 after
 * a usage error, 3 after a configuration error, each with a one-line message on
 * stderr). On -1 the caller owns *state and *config (cli_state_free, config_free). */
int cli_load(const cli_program *program, int argc, char **argv,
             cli_state *state, tvsync_config *config);

/* Builds a fresh configuration from the same file, environment and flags
 * (for SIGHUP). On error returns false with a message in error[] and
 * leaves *config untouched; on success *config is replaced (the old one freed). */
bool cli_reload(const cli_state *state, tvsync_config *config, char *error, size_t error_size);

/* The value given to one of the program's own options: NULL when absent, ""
 * for a flag that was given, else the last value given. */
const char *cli_option_value(const cli_state *state, const char *long_name);

/* Prints "PROGRAM: MESSAGE\nTry 'PROGRAM --help' for more information." to
 * stderr and returns TVSYNC_EXIT_USAGE. */
int cli_usage_error(const cli_state *state, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

void cli_state_free(cli_state *state);

#endif
