/* tvsync-cdc: consumes the tvsync replication slot and rebuilds the tv_*
 * read models in commit order, exactly once. See tvsync-cdc(8). */
#include "config.h"

#include <stdio.h>

#include "cdc/daemon.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/exit_codes.h"

static const cli_option cdc_options[] = {
    {"slot", "NAME", "slot.name", "replication slot and origin to consume (default tvsync)"},
    {"metrics-listen", "HOST:PORT", "cdc.metrics_listen", "where /metrics and /health listen (default 127.0.0.1:9188)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_program cdc_program = {
    .name = "tvsync-cdc",
    .synopsis = "[OPTION]...",
    .description =
        "Streams the replication slot ([slot] plugin: wal2json or pgoutput; messages with\n"
        "prefix tvsync) and applies intents: rebuilds the listed tv_* rows in commit order,\n"
        "exactly once, recording progress with a replication origin. Stops cleanly on\n"
        "SIGTERM; SIGHUP reloads the configuration and re-reads the entity registry.",
    .commands_help = NULL,
    .options = cdc_options,
    .log_section = "cdc",
};

int main(int argc, char **argv)
{
    cli_state state;
    tvsync_config config;
    int status = cli_load(&cdc_program, argc, argv, &state, &config);
    if (status >= 0)
        return status;
    if (state.operand_count > 0) {
        status = cli_usage_error(&state, "unexpected argument '%s'", state.operands[0]);
    } else {
        status = cdc_daemon_run(&state, &config);
    }
    config_free(&config);
    cli_state_free(&state);
    return status;
}
