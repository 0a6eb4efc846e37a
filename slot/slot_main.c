/* tvsync-slot: prepares and inspects the logical replication slot tvsync-cdc
 * streams from (check, create, drop, status, peek, rebuild). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "slot/slot_check.h"
#include "slot/slot_common.h"
#include "slot/slot_inspect.h"
#include "slot/slot_lifecycle.h"
#include "slot/slot_watch.h"

#define PEEK_DEFAULT_LIMIT 100

static const cli_option slot_options[] = {
    {"slot", "NAME", "slot.name", "replication slot and origin name (default: tvsync)"},
    {"if-not-exists", NULL, NULL, "create: succeed, doing nothing, when the slot exists"},
    {"json", NULL, NULL, "status: print one JSON object"},
    {"watch", NULL, NULL, "status: redraw lag every second with a sparkline, until Ctrl-C"},
    {"limit", "N", NULL, "peek: show at most N intents (default 100)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_program slot_program = {
    .name = "tvsync-slot",
    .synopsis = "[OPTION]... COMMAND [ENTITY]",
    .description = "Prepares and inspects the logical replication slot that tvsync-cdc streams from.",
    .commands_help =
        "Commands:\n"
        "  check            preflight: server version, wal_level, free slots and wal senders,\n"
        "                   the output plugin ([slot] plugin) and pgoutput's publication,\n"
        "                   replication privilege, migrations; exit 1 if any fails\n"
        "  create           create the slot (and pgoutput's publication first), build every\n"
        "                   tv_* table in its snapshot and set the replication origin to its\n"
        "                   consistent point\n"
        "  drop             drop the slot, the replication origin and pgoutput's publication\n"
        "  status           slot, plugin, activity, LSNs, wal_status, retained WAL, lag, origin\n"
        "                   (--json: one object; --watch: redrawn every second)\n"
        "  peek             print pending intents without consuming them\n"
        "  rebuild [ENTITY] ask tvsync-cdc, through the log, to rebuild one or every entity\n",
    .options = slot_options,
    .log_section = NULL,
};

typedef enum slot_command {
    SLOT_COMMAND_CHECK,
    SLOT_COMMAND_CREATE,
    SLOT_COMMAND_DROP,
    SLOT_COMMAND_STATUS,
    SLOT_COMMAND_PEEK,
    SLOT_COMMAND_REBUILD,
} slot_command;

static const struct {
    const char *name;
    slot_command command;
    int max_operands;          /* after the command word */
    const char *own_options[2]; /* the command-specific options it accepts */
} slot_commands[] = {
    {"check", SLOT_COMMAND_CHECK, 0, {NULL, NULL}},
    {"create", SLOT_COMMAND_CREATE, 0, {"if-not-exists", NULL}},
    {"drop", SLOT_COMMAND_DROP, 0, {NULL, NULL}},
    {"status", SLOT_COMMAND_STATUS, 0, {"json", "watch"}},
    {"peek", SLOT_COMMAND_PEEK, 0, {"limit", NULL}},
    {"rebuild", SLOT_COMMAND_REBUILD, 1, {NULL, NULL}},
};

#define SLOT_COMMAND_COUNT (sizeof slot_commands / sizeof slot_commands[0])

/* Options that only one command understands are refused elsewhere, so a
 * misplaced one is not silently ignored. */
static int validate_command_options(const cli_state *state, size_t command_index)
{
    static const char *const command_options[] = {"if-not-exists", "json", "watch", "limit"};
    for (size_t i = 0; i < sizeof command_options / sizeof command_options[0]; i++) {
        const char *option = command_options[i];
        bool own = false;
        for (size_t j = 0; j < 2; j++) {
            const char *candidate = slot_commands[command_index].own_options[j];
            own = own || (candidate && strcmp(candidate, option) == 0);
        }
        if (cli_option_value(state, option) && !own)
            return cli_usage_error(state, "--%s does not apply to the %s command", option,
                                   slot_commands[command_index].name);
    }
    if (cli_option_value(state, "json") && cli_option_value(state, "watch"))
        return cli_usage_error(state, "--json and --watch cannot be combined");
    return -1;
}

static bool parse_limit(const char *text, int *limit)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (!*text || *end || value < 1 || value > 1000000)
        return false;
    *limit = (int) value;
    return true;
}

static int run_command(const cli_state *state, const tvsync_config *config, size_t command_index)
{
    const char *entity = state->operand_count > 1 ? state->operands[1] : NULL;
    int limit = PEEK_DEFAULT_LIMIT;
    switch (slot_commands[command_index].command) {
    case SLOT_COMMAND_CHECK:
        return slot_check_run(config);
    case SLOT_COMMAND_CREATE:
        return slot_create(config, cli_option_value(state, "if-not-exists") != NULL);
    case SLOT_COMMAND_DROP:
        return slot_drop(config);
    case SLOT_COMMAND_STATUS:
        if (cli_option_value(state, "watch"))
            return slot_watch_run(config);
        return slot_status(config, cli_option_value(state, "json") != NULL);
    case SLOT_COMMAND_PEEK:
        if (cli_option_value(state, "limit") && !parse_limit(cli_option_value(state, "limit"), &limit))
            return cli_usage_error(state, "--limit wants a whole number from 1 to 1000000, not \"%s\"",
                                   cli_option_value(state, "limit"));
        return slot_peek(config, limit);
    case SLOT_COMMAND_REBUILD:
        return slot_rebuild(config, entity);
    }
    return TVSYNC_EXIT_SOFTWARE;
}

int main(int argc, char **argv)
{
    log_init("tvsync-slot");
    cli_state state;
    tvsync_config config;
    int status = cli_load(&slot_program, argc, argv, &state, &config);
    if (status >= 0)
        return status;

    if (state.operand_count == 0) {
        status = cli_usage_error(&state, "no command given (check, create, drop, status, peek or rebuild)");
        goto done;
    }
    size_t command_index = SLOT_COMMAND_COUNT;
    for (size_t i = 0; i < SLOT_COMMAND_COUNT; i++) {
        if (strcmp(state.operands[0], slot_commands[i].name) == 0)
            command_index = i;
    }
    if (command_index == SLOT_COMMAND_COUNT) {
        status = cli_usage_error(&state, "unknown command \"%s\" (check, create, drop, status, peek or rebuild)",
                                 state.operands[0]);
        goto done;
    }
    if (state.operand_count - 1 > slot_commands[command_index].max_operands) {
        status = cli_usage_error(&state, "too many arguments for %s: \"%s\"", state.operands[0],
                                 state.operands[slot_commands[command_index].max_operands + 1]);
        goto done;
    }
    status = validate_command_options(&state, command_index);
    if (status >= 0)
        goto done;
    if (!slot_name_valid(config.slot.name)) {
        /* PostgreSQL would refuse it later, with less context. */
        if (cli_option_value(&state, "slot"))
            status = cli_usage_error(&state, "--slot \"%s\" is not a valid slot name: use 1 to 63 lower-case "
                                             "letters, digits and underscores",
                                     config.slot.name);
        else {
            log_error("slot.name \"%s\" is not a valid slot name: use 1 to 63 lower-case letters, digits "
                      "and underscores",
                      config.slot.name);
            status = TVSYNC_EXIT_CONFIG;
        }
        goto done;
    }
    status = run_command(&state, &config, command_index);

done:
    cli_state_free(&state);
    config_free(&config);
    return status;
}
