/* executor: answers a planned GraphQL request from the database without blocking: one
 * statement per root field for queries; for mutations the SQL function, the sync wait, then
 * the read of the written entity from its tv_* table. */
#ifndef TVSYNC_SERVER_EXECUTOR_H
#define TVSYNC_SERVER_EXECUTOR_H

#include <stdbool.h>

#include "server/app.h"
#include "server/auth/auth.h"
#include "server/db_pool.h"
#include "server/graphql/graphql.h"
#include "server/sync_wait.h"

struct replica_set;

typedef struct executor_env {
    app *server;
    db_pool *pool;                /* the primary */
    sync_wait *sync;
    struct event_base *base;      /* the worker's loop (a query's wait for a replica) */
    struct replica_set *replicas; /* may have no replica */
    db_pool **replica_pools;      /* the worker's pool for each replica */
    unsigned *replica_cursor;     /* the worker's round-robin position over the replicas */
} executor_env;

/* What the response headers say besides the body. */
typedef struct executor_answer {
    lsn_t lsn;   /* mutations: the consistency token (the origin progress their apply committed
                    with, the highest of the request's mutations); 0: none */
    int node;    /* queries: the replica that answered (index), -1 the primary; -2 for a mutation */
} executor_answer;

/* body: the whole GraphQL response ({"data":...,"errors":[...],"extensions":...});
 * the callee may take body->data (then set it to NULL) or leave it to be freed.
 * http_status is 200, or the request's identity was refused by the database: 401 (its role
 * does not exist: answer with WWW-Authenticate: Bearer error="invalid_token") or 403 (the
 * server's role may not take it); body is then {"errors":[...]} with extensions.code
 * INVALID_TOKEN or FORBIDDEN. */
typedef void (*executor_done_fn)(void *arg, int http_status, gql_buf *body, const executor_answer *answer);

/* Executes request (taking ownership of it and of one reference to schema) and calls done
 * exactly once on the loop, possibly before returning. wait_for_sync false skips the
 * read-your-writes wait (the response's extensions then say the read model may be
 * behind). request_id is copied and used in logs. identity (copied; NULL or a NULL role:
 * the server's own role) is who the request's statements run as: with a role, each
 * database round trip of the request is one transaction that starts with
 * set_config('role', role, true) and set_config('request.jwt.claims', claims, true) (a
 * db_pool group), so row-level security and the functions' checks see the caller; a
 * mutation's call commits before its read-your-writes wait, and the written entity is read
 * in a second such transaction. Without a role the statements are those of before.
 * Queries go to a replica of env->replicas when one is up (round robin), else to the
 * primary; with min_lsn (a token of X-Tvsync-Min-Lsn, 0: none) only to a replica that has
 * replayed it, waiting for one up to server.replica_wait_timeout, else to the primary. A
 * query whose replica fails to answer (down, lost, recovery conflict) is run again on the
 * primary. Mutations, and the reads that answer them, use the primary. */
void executor_run(const executor_env *env, app_schema *schema, gql_request *request,
                  const auth_identity *identity, bool wait_for_sync, lsn_t min_lsn, const char *request_id,
                  executor_done_fn done, void *arg);

#endif
