/* pg: PostgreSQL connection helpers shared by every binary: the one conninfo builder,
 * a blocking connect, retryable errors told from fatal ones, backoff between tries. */
#ifndef TVSYNC_COMMON_PG_H
#define TVSYNC_COMMON_PG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

typedef enum pg_connect_mode {
    PG_CONNECT_NORMAL,       /* an ordinary session */
    PG_CONNECT_REPLICATION,  /* replication=database: walsender commands + SQL */
} pg_connect_mode;

typedef enum pg_error_kind {
    PG_ERROR_NONE,
    PG_ERROR_RETRYABLE,  /* connection lost/refused, server starting or shutting down, too many clients, serialization failure, deadlock */
    PG_ERROR_FATAL,      /* bad URL, authentication, missing database, permission, SQL error */
} pg_error_kind;

/* The keyword/value arrays of a connection for libpq's *Params functions with
 * expand_dbname = 1, the same for every binary and for blocking and non-blocking
 * connects: the URL's own settings (application_name, connect_timeout,
 * client_encoding, ...) and PGAPPNAME win over the defaults given here
 * (application_name as fallback_application_name; connect_timeout_ms rounded up to
 * whole seconds, at least 2; client_encoding UTF8); the replication mode wins over the
 * URL. The values point into url, application_name and the struct itself (which must
 * not move while they are used). */
typedef struct pg_conninfo {
    const char *keywords[8];
    const char *values[8];
    char timeout[16];
} pg_conninfo;

void pg_conninfo_build(pg_conninfo *info, const char *url, const char *application_name, pg_connect_mode mode,
                       int connect_timeout_ms);

/* Connects (blocking) to url (a libpq URI or conninfo string; "" or NULL means
 * libpq's defaults) with the settings of pg_conninfo_build.
 * Returns the connection, or NULL with a one-line reason in error[]
 * (host and port named, password never shown) and *kind set.
 * The caller owns the connection (PQfinish). */
PGconn *pg_connect(const char *url, const char *application_name, pg_connect_mode mode,
                   int connect_timeout_ms, pg_error_kind *kind, char *error, size_t error_size);

/* Classifies a failed result (NULL result: look at the connection). */
pg_error_kind pg_error_classify(const PGconn *conn, const PGresult *result);

/* The error of a result or connection as one line: "message (SQLSTATE xxxxx)"
 * with newlines and the "ERROR:  " prefix removed. Writes into buffer. */
const char *pg_error_line(const PGconn *conn, const PGresult *result, char *buffer, size_t buffer_size);

/* Runs a command that returns no rows (or rows nobody reads); on failure logs
 * `what` with the error line and returns false. Blocking: not for event loops. */
bool pg_exec_ok(PGconn *conn, const char *sql, const char *what);

/* Runs a statement with text parameters and returns its result (the caller PQclears
 * it), or on failure logs `what` with the error line and returns NULL. Blocking. */
PGresult *pg_query_logged(PGconn *conn, const char *sql, int parameter_count, const char *const *values,
                          const char *what);

/* Quotes an identifier or literal with libpq; the caller frees with PQfreemem.
 * NULL on error (already logged). */
char *pg_quote_identifier(PGconn *conn, const char *identifier);

/* Capped exponential backoff with jitter for reconnect loops. */
typedef struct pg_backoff {
    int initial_ms;  /* first delay */
    int max_ms;      /* cap */
    int attempt;     /* delays handed out since the last reset */
} pg_backoff;

void pg_backoff_init(pg_backoff *backoff, int initial_ms, int max_ms);
/* The next delay: initial * 2^attempt capped at max, with up to 20% jitter
 * removed, never below 1 ms. */
int pg_backoff_next_ms(pg_backoff *backoff);
void pg_backoff_reset(pg_backoff *backoff);

/* A URL/conninfo with any password replaced by "***", for logs. Caller frees. */
char *pg_redact_url(const char *url);

#endif
