/* slot_watch: samples the slot's lag and retained WAL once a second and
 * draws them (a screen on a terminal, one line per sample elsewhere). */
#include "slot/slot_watch.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "slot/slot_common.h"

/* Five minutes of one-second samples. */
#define WATCH_HISTORY 300
/* Samples drawn in the one-line (non-terminal) form's trend. */
#define WATCH_LINE_TREND 30

static volatile sig_atomic_t watch_stop;

static void watch_signal_handler(int signal_number)
{
    (void) signal_number;
    watch_stop = 1;
}

void slot_sparkline(const double *values, size_t count, char *out, size_t out_size)
{
    static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    size_t fit = (out_size - 1) / 3;
    size_t first = count > fit ? count - fit : 0;
    double max = 0;
    for (size_t i = first; i < count; i++) {
        if (values[i] > max)
            max = values[i];
    }
    size_t length = 0;
    for (size_t i = first; i < count; i++) {
        double value = values[i] > 0 ? values[i] : 0;
        int level = max > 0 ? (int) (value / max * 7.0 + 0.5) : 0;
        if (level > 7)
            level = 7;
        memcpy(out + length, blocks[level], 3);
        length += 3;
    }
    out[length] = '\0';
}

void slot_format_bytes(double bytes, char *out, size_t out_size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    size_t unit = 0;
    while (bytes >= 1024.0 && unit + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024.0;
        unit++;
    }
    if (unit == 0)
        snprintf(out, out_size, "%.0f %s", bytes, units[unit]);
    else
        snprintf(out, out_size, "%.1f %s", bytes, units[unit]);
}

typedef struct watch_state {
    const tvsync_config *config;
    PGconn *conn;
    bool tty;
    bool origin_readable;      /* false once reading the origin was refused */
    double lag[WATCH_HISTORY];
    double retained[WATCH_HISTORY];
    size_t samples;            /* valid entries, oldest first */
    char error[512];           /* the last connection or query problem, "" when none */
} watch_state;

typedef struct watch_sample {
    bool active;
    char pid[16];
    char wal_status[32];
    char safe_wal_size[32];
    double lag_bytes;
    double retained_bytes;
    char confirmed_flush_lsn[32];
    char current_lsn[32];
    char origin_progress[32];
    char failover[8];           /* yes | no | "" before PostgreSQL 17 */
} watch_sample;

static const char WATCH_SQL[] =
    "SELECT s.active, s.active_pid, s.wal_status, s.safe_wal_size, "
    "pg_wal_lsn_diff(w.lsn, s.confirmed_flush_lsn)::bigint, "
    "pg_wal_lsn_diff(w.lsn, s.restart_lsn)::bigint, "
    "s.confirmed_flush_lsn, w.lsn, "
    /* NULL before PostgreSQL 17, which has no failover column */
    "(to_jsonb(s) ->> 'failover')::boolean "
    "FROM pg_replication_slots s, "
    "LATERAL (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END AS lsn) w "
    "WHERE s.slot_name = $1";

static void copy_value(char *out, size_t out_size, const PGresult *result, int column, const char *absent)
{
    snprintf(out, out_size, "%s", PQgetisnull(result, 0, column) ? absent : PQgetvalue(result, 0, column));
}

static void watch_push(watch_state *state, double lag, double retained)
{
    if (state->samples == WATCH_HISTORY) {
        memmove(state->lag, state->lag + 1, sizeof state->lag[0] * (WATCH_HISTORY - 1));
        memmove(state->retained, state->retained + 1, sizeof state->retained[0] * (WATCH_HISTORY - 1));
        state->samples--;
    }
    state->lag[state->samples] = lag;
    state->retained[state->samples] = retained;
    state->samples++;
}

/* Reconnects quietly (the screen shows the error); true when connected. */
static bool watch_connect(watch_state *state)
{
    if (state->conn && PQstatus(state->conn) == CONNECTION_OK)
        return true;
    PQfinish(state->conn);
    pg_error_kind kind;
    /* The slot where it lives: the standby of [cdc] decode_url when set. */
    state->conn = pg_connect(slot_on_standby(state->config) ? state->config->cdc.decode_url
                                                            : state->config->database.url,
                             SLOT_APPLICATION_NAME, PG_CONNECT_NORMAL,
                             state->config->database.connect_timeout_ms, &kind, state->error,
                             sizeof state->error);
    return state->conn != NULL;
}

/* 1: sampled; 0: the slot does not exist; -1: the database failed (state->error says why). */
static int watch_sample_once(watch_state *state, watch_sample *sample)
{
    if (!watch_connect(state))
        return -1;
    const char *params[] = {state->config->slot.name};
    PGresult *result = PQexecParams(state->conn, WATCH_SQL, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        pg_error_line(state->conn, result, state->error, sizeof state->error);
        PQclear(result);
        return -1;
    }
    if (PQntuples(result) == 0) {
        PQclear(result);
        return 0;
    }
    state->error[0] = '\0';
    sample->active = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    copy_value(sample->pid, sizeof sample->pid, result, 1, "-");
    copy_value(sample->wal_status, sizeof sample->wal_status, result, 2, "-");
    copy_value(sample->safe_wal_size, sizeof sample->safe_wal_size, result, 3, "");
    sample->lag_bytes = PQgetisnull(result, 0, 4) ? 0 : strtod(PQgetvalue(result, 0, 4), NULL);
    sample->retained_bytes = PQgetisnull(result, 0, 5) ? 0 : strtod(PQgetvalue(result, 0, 5), NULL);
    copy_value(sample->confirmed_flush_lsn, sizeof sample->confirmed_flush_lsn, result, 6, "-");
    copy_value(sample->current_lsn, sizeof sample->current_lsn, result, 7, "-");
    snprintf(sample->failover, sizeof sample->failover, "%s",
             PQgetisnull(result, 0, 8) ? "" : strcmp(PQgetvalue(result, 0, 8), "t") == 0 ? "yes" : "no");
    PQclear(result);

    snprintf(sample->origin_progress, sizeof sample->origin_progress, "-");
    if (state->origin_readable) {
        result = PQexecParams(state->conn,
                              "SELECT pg_replication_origin_progress(roname, false) FROM pg_replication_origin "
                              "WHERE roname = $1",
                              1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(result) == PGRES_TUPLES_OK) {
            if (PQntuples(result) == 0)
                snprintf(sample->origin_progress, sizeof sample->origin_progress, "missing");
            else
                copy_value(sample->origin_progress, sizeof sample->origin_progress, result, 0, "-");
        } else {
            /* Typically no EXECUTE on the function: stop asking. */
            state->origin_readable = false;
        }
        PQclear(result);
    }
    return 1;
}

static void time_now_text(char *out, size_t out_size, const char *format)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, out_size, format, &tm);
}

static int terminal_columns(void)
{
    struct winsize size;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    return 80;
}

static void watch_draw_screen(const watch_state *state, const watch_sample *sample, bool sampled)
{
    char now[32], lag[32], retained[32], safe[32], max_lag_text[32];
    char lag_line[WATCH_HISTORY * 3 + 1], retained_line[WATCH_HISTORY * 3 + 1];
    time_now_text(now, sizeof now, "%H:%M:%S UTC");
    int width = terminal_columns() - 28;
    if (width < 10)
        width = 10;
    if (width > WATCH_HISTORY)
        width = WATCH_HISTORY;
    slot_sparkline(state->lag, state->samples, lag_line, (size_t) width * 3 + 1);
    slot_sparkline(state->retained, state->samples, retained_line, (size_t) width * 3 + 1);
    double max_lag = 0;
    for (size_t i = 0; i < state->samples; i++)
        max_lag = state->lag[i] > max_lag ? state->lag[i] : max_lag;
    slot_format_bytes(max_lag, max_lag_text, sizeof max_lag_text);

    /* Home and clear, then the whole screen at once. */
    printf("\033[H\033[J");
    printf("tvsync-slot: replication slot \"%s\", every second (Ctrl-C to stop)   %s\n\n",
           state->config->slot.name, now);
    if (sampled) {
        slot_format_bytes(sample->lag_bytes, lag, sizeof lag);
        slot_format_bytes(sample->retained_bytes, retained, sizeof retained);
        if (*sample->safe_wal_size)
            slot_format_bytes(strtod(sample->safe_wal_size, NULL), safe, sizeof safe);
        else
            snprintf(safe, sizeof safe, "unlimited");
        printf("%-14s %s\n", "active", sample->active ? "yes" : "no (nothing streams from the slot)");
        if (sample->active)
            printf("%-14s %s\n", "active_pid", sample->pid);
        printf("%-14s %s (safe_wal_size %s)\n", "wal_status", sample->wal_status, safe);
        printf("%-14s %-10s %s\n", "lag", lag, lag_line);
        printf("%-14s %-10s %s\n", "retained WAL", retained, retained_line);
        printf("%-14s %s (current %s)\n", "confirmed", sample->confirmed_flush_lsn, sample->current_lsn);
        printf("%-14s %s\n", "origin", sample->origin_progress);
        if (sample->failover[0])
            printf("%-14s %s\n", "failover", sample->failover);
    }
    if (state->error[0])
        printf("\nproblem: %s (retrying every second)\n", state->error);
    printf("\n%zu s of history, largest lag %s\n", state->samples, max_lag_text);
    fflush(stdout);
}

static void watch_draw_line(const watch_state *state, const watch_sample *sample, bool sampled)
{
    char now[32];
    time_now_text(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ");
    if (!sampled) {
        printf("%s slot=%s error=\"%s\"\n", now, state->config->slot.name, state->error);
        fflush(stdout);
        return;
    }
    char trend[WATCH_LINE_TREND * 3 + 1];
    slot_sparkline(state->lag, state->samples, trend, sizeof trend);
    printf("%s slot=%s active=%s active_pid=%s wal_status=%s lag_bytes=%.0f retained_wal_bytes=%.0f "
           "confirmed_flush_lsn=%s origin_progress=%s failover=%s lag_trend=%s\n",
           now, state->config->slot.name, sample->active ? "yes" : "no", sample->pid, sample->wal_status,
           sample->lag_bytes, sample->retained_bytes, sample->confirmed_flush_lsn, sample->origin_progress,
           sample->failover[0] ? sample->failover : "-", trend);
    fflush(stdout);
}

/* Sleeps until the next whole second of the monotonic clock, or a signal. */
static void watch_wait(const struct timespec *start, long tick)
{
    struct timespec deadline = {.tv_sec = start->tv_sec + tick, .tv_nsec = start->tv_nsec};
    while (!watch_stop) {
        int error = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        if (error != EINTR)
            break;
    }
}

int slot_watch_run(const tvsync_config *config)
{
    int status = TVSYNC_EXIT_OK;
    watch_state *state = alloc_calloc(1, sizeof *state);
    state->config = config;
    state->tty = isatty(STDOUT_FILENO);
    state->origin_readable = true;
    state->conn = slot_connect_slot_server(config, PG_CONNECT_NORMAL, &status);
    if (!state->conn) {
        free(state);
        return status;
    }

    watch_stop = 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = watch_signal_handler;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long tick = 1; !watch_stop; tick++) {
        watch_sample sample;
        memset(&sample, 0, sizeof sample);
        int sampled = watch_sample_once(state, &sample);
        if (sampled == 0) {
            if (state->tty)
                printf("\n");
            log_error("replication slot \"%s\" does not exist: run tvsync-slot create", config->slot.name);
            status = TVSYNC_EXIT_SLOT;
            break;
        }
        if (sampled == 1)
            watch_push(state, sample.lag_bytes, sample.retained_bytes);
        if (state->tty)
            watch_draw_screen(state, &sample, sampled == 1);
        else
            watch_draw_line(state, &sample, sampled == 1);
        watch_wait(&start, tick);
    }
    PQfinish(state->conn);
    free(state);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return status;
}
