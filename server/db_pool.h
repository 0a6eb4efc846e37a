/* db_pool: a worker's PostgreSQL connections, each a common/pg_pipeline on its libevent
 * loop, with a FIFO of queued statements and reconnection with backoff. */
#ifndef TVSYNC_SERVER_DB_POOL_H
#define TVSYNC_SERVER_DB_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <libpq-fe.h>

typedef struct db_pool db_pool;

/* Called once per submitted statement, on the loop. On success error is NULL and result
 * is the statement's last result (TUPLES_OK or COMMAND_OK). On failure error is one line
 * for logs and clients (SQLSTATE included) and result is the failed result, or NULL when
 * the connection was lost or never came up. The pool clears result after the call. */
typedef void (*db_pool_result_fn)(void *arg, const PGresult *result, const char *error);

/* Called for each NOTIFY received on any connection of the pool. */
typedef void (*db_pool_notify_fn)(void *arg, const char *channel, const char *payload);
/* Called when a connection has (re)connected, before it takes queued work. */
typedef void (*db_pool_connect_fn)(void *arg);

typedef struct db_pool_stats {
    int size;        /* connections configured */
    int connected;   /* idle + busy */
    int busy;
    size_t queued;   /* statements waiting for a connection */
} db_pool_stats;

/* Creates the pool and starts connecting every connection (url: libpq URI or conninfo).
 * setup_sql (may be NULL) runs on each new connection before it takes work (session
 * settings such as statement_timeout). A statement that waits longer than
 * queue_timeout_ms for a connection fails unsent ("database timeout: no connection became
 * free ..."); the queued ones fail ("database unavailable: ...") when a connection attempt
 * fails while none is connected. Never blocks. The
 * caller frees with db_pool_free before freeing base. */
db_pool *db_pool_new(struct event_base *base, const char *url, const char *application_name,
                     int size, int connect_timeout_ms, const char *setup_sql, int queue_timeout_ms);
void db_pool_free(db_pool *pool);

void db_pool_set_notify(db_pool *pool, db_pool_notify_fn fn, void *arg);
void db_pool_set_connect(db_pool *pool, db_pool_connect_fn fn, void *arg);

/* Flags for db_pool_submit. */
#define DB_POOL_RETRY_ON_LOSS 1u  /* safe to repeat (reads): resent once on a fresh connection when
                                     the connection drops, and may share a pipeline with other reads */
#define DB_POOL_FRONT 2u          /* queue ahead of other work (connection setup statements) */
#define DB_POOL_PREPARED 4u       /* run as a statement prepared once per connection (named after
                                     its text: the same text is the same statement) */

/* Queues a statement; sql and params are copied. Queued statements are sent once the
 * loop has run the callbacks that were ready with this one, so that statements
 * submitted together share a pipeline. A statement in flight when its connection
 * drops is resent once if DB_POOL_RETRY_ON_LOSS, else fails ("database connection
 * lost; the statement may or may not have run: ..."). fn is always called exactly
 * once, possibly before this returns (when no connection can be made). */
void db_pool_submit(db_pool *pool, const char *sql, int param_count, const char *const *params, unsigned flags,
                    db_pool_result_fn fn, void *arg);

/* What a statement's error (db_pool_result_fn) was, for the message a client may see. */
typedef enum db_pool_error_kind {
    DB_POOL_ERROR_NONE,        /* error was NULL */
    DB_POOL_ERROR_STATEMENT,   /* PostgreSQL raised it (the line has its message and SQLSTATE) */
    DB_POOL_ERROR_CANCELED,    /* canceled by PostgreSQL: its statement_timeout (SQLSTATE 57014) */
    DB_POOL_ERROR_TIMEOUT,     /* no answer before the pool's deadline; its connection was reset */
    DB_POOL_ERROR_UNAVAILABLE, /* no connection could take it: it never ran */
    DB_POOL_ERROR_LOST,        /* its connection dropped while it ran: it may have run */
    DB_POOL_ERROR_ROLE,        /* the database refused its identity's role (the line has why and the
                                  SQLSTATE: 22023 no such role, 42501 not a member); it never ran */
} db_pool_error_kind;

/* The prefix of the errors of statements whose identity the database refused. */
#define DB_POOL_ROLE_PREFIX "role refused"

/* The prefix of the errors of statements that passed the pool's deadline. */
#define DB_POOL_TIMEOUT_PREFIX "database timeout"

db_pool_error_kind db_pool_error_classify(const char *error);

/* Deadlines (both off until this is called). A statement with no answer deadline_ms after
 * it was submitted fails ("database timeout: no answer within N ms", and "; the statement
 * may or may not have run" when it is not DB_POOL_RETRY_ON_LOSS) together with every other
 * statement in flight on its connection, and the connection is closed and made again:
 * a database that stopped answering (frozen, or a network that drops packets) is noticed
 * even when PostgreSQL's own statement_timeout cannot fire. probe_ms > 0: when no
 * connection answered anything for probe_ms, one cheap statement is sent, so that
 * db_pool_silence_ms sees a database that stopped answering an idle pool. Connection
 * attempts (and session setup) that take longer than connect_timeout_ms are abandoned. */
void db_pool_set_deadline(db_pool *pool, int deadline_ms, int probe_ms);

/* How long (ms) the pool has been waiting for an answer it has not had: from the later of
 * the last answer of any connection and the oldest statement or connection attempt still
 * waiting; 0 when nothing waits. For /health: a database that stopped answering grows it. */
long db_pool_silence_ms(const db_pool *pool);

/* Statements submitted between db_pool_identity_begin and db_pool_identity_end run as role
 * (a PostgreSQL role the pool's own must be a member of), with claims_json visible to SQL as
 * current_setting('request.jwt.claims') (the PostgREST convention); the strings are copied.
 * The others run as the pool's own role. Before a statement whose identity differs from that
 * of the statement before it in the same sync point, the pool sends
 * set_config('role', ..., true), set_config('request.jwt.claims', ..., true): the reads of
 * many requests with one identity that share a pipeline pay for it once, and the setting
 * ends with the sync point's transaction, so a statement never runs with another request's
 * identity. When the database refuses the role, the statement fails with DB_POOL_ERROR_ROLE
 * (it never ran). Calls do not nest. */
void db_pool_identity_begin(db_pool *pool, const char *role, const char *claims_json);
void db_pool_identity_end(db_pool *pool);

void db_pool_get_stats(const db_pool *pool, db_pool_stats *stats);
/* The last connection error (for /health), "" when none since the last success; it starts
 * with DB_POOL_TIMEOUT_PREFIX when a connection was closed for not answering. */
const char *db_pool_last_error(const db_pool *pool);

#endif
