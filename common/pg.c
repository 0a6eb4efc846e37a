/* pg: connection helpers shared by every binary: connect with a name and a
 * timeout, classify failures as retryable or fatal, back off between attempts. */
#include <config.h>

#include "common/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"

/* Copies text into buffer as one line without libpq's "ERROR:  " prefix. */
static void copy_one_line(const char *text, char *buffer, size_t buffer_size)
{
    if (strncmp(text, "ERROR:  ", 8) == 0)
        text += 8;
    else if (strncmp(text, "FATAL:  ", 8) == 0)
        text += 8;
    size_t out = 0;
    bool space = false;
    for (; *text && out + 1 < buffer_size; text++) {
        if (*text == '\n' || *text == '\r' || *text == '\t') {
            space = true;
            continue;
        }
        if (space && out > 0)
            buffer[out++] = ' ';
        space = false;
        if (out + 1 < buffer_size)
            buffer[out++] = *text;
    }
    /* Drop a trailing period-less space. */
    while (out > 0 && buffer[out - 1] == ' ')
        out--;
    buffer[out] = '\0';
}

const char *pg_error_line(const PGconn *conn, const PGresult *result, char *buffer, size_t buffer_size)
{
    const char *message = NULL;
    const char *sqlstate = NULL;
    if (result) {
        message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        if (!message)
            message = PQresultErrorMessage(result);
    }
    if ((!message || !*message) && conn)
        message = PQerrorMessage(conn);
    if (!message || !*message)
        message = "unknown error";
    char line[1024];
    copy_one_line(message, line, sizeof line);
    if (sqlstate && *sqlstate)
        snprintf(buffer, buffer_size, "%s (SQLSTATE %s)", line, sqlstate);
    else
        snprintf(buffer, buffer_size, "%s", line);
    return buffer;
}

/* SQLSTATE classes that a later attempt can get past. */
static bool sqlstate_is_retryable(const char *sqlstate)
{
    static const char *const retryable[] = {
        "08",    /* connection exception */
        "57P01", /* admin_shutdown */
        "57P02", /* crash_shutdown */
        "57P03", /* cannot_connect_now */
        "53",    /* insufficient resources (too many connections, disk full, out of memory) */
        "40001", /* serialization_failure */
        "40P01", /* deadlock_detected */
        "55P03", /* lock_not_available */
        "58",    /* system error (I/O) */
    };
    for (size_t i = 0; i < sizeof retryable / sizeof retryable[0]; i++)
        if (strncmp(sqlstate, retryable[i], strlen(retryable[i])) == 0)
            return true;
    return false;
}

/* Connection failures carry no SQLSTATE in libpq 15; their texts are stable. */
static bool message_is_retryable(const char *message)
{
    static const char *const retryable[] = {
        "Connection refused", "could not connect", "timeout expired", "server closed the connection",
        "the database system is starting up", "the database system is shutting down",
        "the database system is in recovery mode", "the database system is not yet accepting connections",
        "too many clients", "remaining connection slots",
        "No such file or directory", "could not receive data", "could not send data",
        "Connection reset", "no connection to the server", "terminating connection",
        "server conn crashed", "SSL SYSCALL error", "Network is unreachable", "No route to host",
        "could not translate host name", "Temporary failure in name resolution",
        /* target_session_attrs=read-write found only standbys: one may be promoted */
        "session is read-only", "server is in hot standby mode", "could not make a writable connection",
    };
    for (size_t i = 0; i < sizeof retryable / sizeof retryable[0]; i++)
        if (strstr(message, retryable[i]))
            return true;
    return false;
}

pg_error_kind pg_error_classify(const PGconn *conn, const PGresult *result)
{
    if (result) {
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_BOTH ||
            status == PGRES_COPY_OUT || status == PGRES_COPY_IN || status == PGRES_SINGLE_TUPLE ||
            status == PGRES_EMPTY_QUERY || status == PGRES_PIPELINE_SYNC)
            return PG_ERROR_NONE;
        const char *sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        if (sqlstate)
            return sqlstate_is_retryable(sqlstate) ? PG_ERROR_RETRYABLE : PG_ERROR_FATAL;
    }
    if (!conn)
        return PG_ERROR_FATAL;
    if (PQstatus(conn) == CONNECTION_BAD)
        return message_is_retryable(PQerrorMessage(conn)) || result ? PG_ERROR_RETRYABLE : PG_ERROR_FATAL;
    const char *message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn);
    return message_is_retryable(message) ? PG_ERROR_RETRYABLE : PG_ERROR_FATAL;
}

void pg_conninfo_build(pg_conninfo *info, const char *url, const char *application_name, pg_connect_mode mode,
                       int connect_timeout_ms)
{
    /* libpq takes whole seconds; 0 would mean "wait forever". */
    int seconds = connect_timeout_ms <= 0 ? 0 : (connect_timeout_ms + 999) / 1000;
    snprintf(info->timeout, sizeof info->timeout, "%d", seconds < 2 && seconds > 0 ? 2 : seconds);
    /* With expand_dbname the URL's settings replace the keywords before dbname, and
     * keywords after it replace the URL's: the defaults go first. */
    int n = 0;
    /* The fallback name, so that PGAPPNAME and the URL's application_name both win. */
    if (application_name && *application_name) {
        info->keywords[n] = "fallback_application_name";
        info->values[n++] = application_name;
    }
    info->keywords[n] = "client_encoding";
    info->values[n++] = "UTF8";
    if (seconds > 0) {
        info->keywords[n] = "connect_timeout";
        info->values[n++] = info->timeout;
    }
    if (url && *url) {
        info->keywords[n] = "dbname";
        info->values[n++] = url;
    }
    if (mode == PG_CONNECT_REPLICATION) {
        info->keywords[n] = "replication";
        info->values[n++] = "database";
    }
    info->keywords[n] = NULL;
    info->values[n] = NULL;
}

PGconn *pg_connect(const char *url, const char *application_name, pg_connect_mode mode,
                   int connect_timeout_ms, pg_error_kind *kind, char *error, size_t error_size)
{
    pg_conninfo info;
    pg_conninfo_build(&info, url, application_name, mode, connect_timeout_ms);
    PGconn *conn = alloc_check(PQconnectdbParams(info.keywords, info.values, 1));
    if (PQstatus(conn) != CONNECTION_OK) {
        char line[1024];
        copy_one_line(PQerrorMessage(conn), line, sizeof line);
        *kind = message_is_retryable(line) ? PG_ERROR_RETRYABLE : PG_ERROR_FATAL;
        char *redacted = pg_redact_url(url ? url : "");
        if (*redacted)
            snprintf(error, error_size, "cannot connect to %s: %s", redacted, line);
        else
            snprintf(error, error_size, "cannot connect to PostgreSQL (libpq defaults): %s", line);
        free(redacted);
        PQfinish(conn);
        return NULL;
    }
    *kind = PG_ERROR_NONE;
    if (error_size)
        error[0] = '\0';
    return conn;
}

bool pg_exec_ok(PGconn *conn, const char *sql, const char *what)
{
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!ok) {
        char line[1024];
        log_error("%s: %s", what, pg_error_line(conn, result, line, sizeof line));
    }
    PQclear(result);
    return ok;
}

PGresult *pg_query_logged(PGconn *conn, const char *sql, int parameter_count, const char *const *values,
                          const char *what)
{
    PGresult *result = PQexecParams(conn, sql, parameter_count, NULL, values, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        char line[1024];
        log_error("%s: %s", what, pg_error_line(conn, result, line, sizeof line));
        PQclear(result);
        return NULL;
    }
    return result;
}

char *pg_quote_identifier(PGconn *conn, const char *identifier)
{
    char *quoted = PQescapeIdentifier(conn, identifier, strlen(identifier));
    if (!quoted)
        log_error("cannot quote identifier \"%s\": %s", identifier, PQerrorMessage(conn));
    return quoted;
}

void pg_backoff_init(pg_backoff *backoff, int initial_ms, int max_ms)
{
    backoff->initial_ms = initial_ms > 0 ? initial_ms : 1;
    backoff->max_ms = max_ms >= backoff->initial_ms ? max_ms : backoff->initial_ms;
    backoff->attempt = 0;
}

int pg_backoff_next_ms(pg_backoff *backoff)
{
    long long delay = backoff->initial_ms;
    for (int i = 0; i < backoff->attempt && delay < backoff->max_ms; i++)
        delay *= 2;
    if (delay > backoff->max_ms)
        delay = backoff->max_ms;
    backoff->attempt++;
    /* Up to 20% jitter off, so many clients restarting together spread out. */
    static __thread unsigned int seed;
    if (!seed)
        seed = (unsigned int) time(NULL) ^ (unsigned int) (size_t) &seed;
    long long jitter = delay / 5 > 0 ? rand_r(&seed) % (delay / 5 + 1) : 0;
    delay -= jitter;
    return delay < 1 ? 1 : (int) delay;
}

void pg_backoff_reset(pg_backoff *backoff)
{
    backoff->attempt = 0;
}

/* Returns a new string: text with [from, to) replaced by "***". */
static char *splice_stars(char *text, size_t from, size_t to)
{
    size_t length = strlen(text);
    char *out = alloc_malloc(length - (to - from) + 4);
    memcpy(out, text, from);
    memcpy(out + from, "***", 3);
    memcpy(out + from + 3, text + to, length - to + 1);
    free(text);
    return out;
}

char *pg_redact_url(const char *url)
{
    char *copy = alloc_strdup(url ? url : "");
    /* URI form: scheme://user:password@host */
    char *scheme = strstr(copy, "://");
    if (scheme) {
        char *userinfo = scheme + 3;
        char *at = strchr(userinfo, '@');
        char *slash = strchr(userinfo, '/');
        char *colon = strchr(userinfo, ':');
        if (at && (!slash || at < slash) && colon && colon < at)
            copy = splice_stars(copy, (size_t) (colon + 1 - copy), (size_t) (at - copy));
    }
    /* Conninfo keyword or URI query parameter: password=... */
    size_t search_from = 0;
    char *p;
    while ((p = strstr(copy + search_from, "password=")) != NULL) {
        size_t value = (size_t) (p + 9 - copy);
        size_t end = value;
        if (copy[end] == '\'') {
            end++;
            while (copy[end] && copy[end] != '\'')
                end += (copy[end] == '\\' && copy[end + 1]) ? 2 : 1;
            if (copy[end])
                end++;
        } else {
            while (copy[end] && copy[end] != ' ' && copy[end] != '&')
                end++;
        }
        copy = splice_stars(copy, value, end);
        search_from = value + 3;
    }
    return copy;
}
