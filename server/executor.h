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

typedef struct executor_env {
    app *server;
    db_pool *pool;
    sync_wait *sync;
} executor_env;

/* body: the whole GraphQL response ({"data":...,"errors":[...],"extensions":...});
 * the callee may take body->data (then set it to NULL) or leave it to be freed.
 * http_status is 200, or the request's identity was refused by the database: 401 (its role
 * does not exist: answer with WWW-Authenticate: Bearer error="invalid_token") or 403 (the
 * server's role may not take it); body is then {"errors":[...]} with extensions.code
 * INVALID_TOKEN or FORBIDDEN. */
typedef void (*executor_done_fn)(void *arg, int http_status, gql_buf *body);

/* Executes request (taking ownership of it and of one reference to schema) and calls done
 * exactly once on the loop, possibly before returning. wait_for_sync false skips the
 * read-your-writes wait (the response's extensions then say the read model may be
 * behind). request_id is copied and used in logs. identity (copied; NULL or a NULL role:
 * the server's own role) is who the request's statements run as: with a role, each
 * database round trip of the request is one transaction that starts with
 * set_config('role', role, true) and set_config('request.jwt.claims', claims, true) (a
 * db_pool group), so row-level security and the functions' checks see the caller; a
 * mutation's call commits before its read-your-writes wait, and the written entity is read
 * in a second such transaction. Without a role the statements are those of before. */
void executor_run(const executor_env *env, app_schema *schema, gql_request *request,
                  const auth_identity *identity, bool wait_for_sync, const char *request_id,
                  executor_done_fn done, void *arg);

#endif
