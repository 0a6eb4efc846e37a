/* executor: turns plan root fields into SQL on the worker's pool and completes the response
 * with the engine; mutation fields run one after the other, as GraphQL requires. */
#include <config.h>

#include "server/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/lsn.h"
#include "server/graphql/gql_json_read.h"
#include "server/replica.h"
#include "server/sql_builder.h"

/* What tvsync.finish_mutation raises for a mutation whose status is not ok (message: the
 * function's message; detail: its status). */
#define MUTATION_FAILED_SQLSTATE "TVS01"

/* What set_config('role') raises for a role that does not exist (a GUC check failure) and
 * for one the server's role is not a member of. */
#define NO_SUCH_ROLE_SQLSTATE "22023"
#define NOT_A_MEMBER_SQLSTATE "42501" /* insufficient_privilege */

typedef struct exec_request {
    executor_env env;
    app_schema *schema;
    gql_request *request;
    gql_response *response;
    const gql_plan_field *fields;
    size_t field_count;
    size_t pending;            /* query: root fields still running */
    size_t current;            /* mutation: the field running now */
    bool wait_for_sync;
    bool mutation;
    bool read_model_behind;    /* a wait was skipped or timed out */
    char *role;                /* the identity's role, NULL: the server's own */
    char *claims;              /* the identity's claims JSON, with role */
    int http_status;           /* 0, or 401/403 when the database refused the role */
    char role_error[300];      /* why setting the role failed, "" when it did not */
    char *mutation_id;         /* id returned by the running mutation */
    /* The running mutation's entity and the LSN its wait reached, to look for a dead
     * letter when its document is missing; "" when it did not wait (or the entity name
     * does not fit, then no dead letter is looked for). */
    char mutation_entity[128];
    char waited_lsn[32];
    lsn_t publish_lsn;         /* the running mutation's last intent message */
    lsn_t wait_bound;          /* the running mutation's wait's position at or past its commit */
    lsn_t token;               /* the consistency token answered (X-Tvsync-Lsn); 0: none */
    lsn_t min_lsn;             /* query: the token it must see (X-Tvsync-Min-Lsn); 0: none */
    int node;                  /* query: the replica answering it (index), -1: the primary */
    db_pool *primary;
    bool replica_failed;       /* query: its replica did not answer; it runs again on the primary */
    struct event *replica_timer; /* query: waiting for a replica to reach min_lsn */
    struct timespec replica_wait_started;
    struct timespec wait_started;
    struct timespec started;   /* mutations: when the request started, for server.request_deadline */
    bool writing;              /* the mutation function is running (its outcome is not known yet) */
    char request_id[80];
    executor_done_fn done;
    void *done_arg;
} exec_request;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A root field failed: null, and an error with extensions.code for clients to branch on. */
static void field_error(exec_request *exec, size_t index, const char *code, const char *message)
{
    gql_response_set_root_error_code(exec->response, index, message, code);
}

/* The database refused the request's role: the whole request is refused. */
static void finish_refused(exec_request *exec, const executor_answer *answer)
{
    const char *code = exec->http_status == 401 ? "INVALID_TOKEN" : "FORBIDDEN";
    gql_buf body;
    gql_buf_init(&body);
    gql_buf_puts(&body, "{\"errors\":[{\"message\":");
    gql_buf_json_string(&body, exec->role_error, strlen(exec->role_error));
    gql_buf_puts(&body, ",\"extensions\":{\"code\":");
    gql_buf_json_string(&body, code, strlen(code));
    gql_buf_puts(&body, "}}]}");
    exec->done(exec->done_arg, exec->http_status, &body, answer);
    gql_buf_free(&body);
}

static void finish_response(exec_request *exec, const executor_answer *answer)
{
    if (exec->read_model_behind || exec->token != 0) {
        /* {"extensions":{"tvsync":{...}}}: the answer may not show this request's writes yet;
         * lsn: the token a later request sends as X-Tvsync-Min-Lsn to read them from a replica */
        cJSON *extensions = alloc_check(cJSON_CreateObject());
        cJSON *tvsync = cJSON_AddObjectToObject(extensions, "tvsync");
        if (exec->read_model_behind) {
            cJSON_AddBoolToObject(tvsync, "readModelMayBeBehind", true);
            cJSON_AddBoolToObject(tvsync, "waitedForSync", exec->wait_for_sync);
        }
        if (exec->token != 0) {
            char lsn[LSN_FORMAT_SIZE];
            cJSON_AddStringToObject(tvsync, "lsn", lsn_format(exec->token, lsn));
        }
        gql_response_set_extensions(exec->response, extensions);
        cJSON_Delete(extensions);
    }
    gql_buf body;
    gql_buf_init(&body);
    gql_response_finish(exec->response, &body);
    exec->done(exec->done_arg, 200, &body, answer);
    gql_buf_free(&body);
}

static void finish(exec_request *exec)
{
    executor_answer answer = {.lsn = exec->token, .node = exec->mutation ? -2 : exec->node};
    if (!exec->mutation && exec->http_status == 0 && replica_set_count(exec->env.replicas) > 0) {
        const char *node[] = {replica_set_label(exec->env.replicas, exec->node)};
        prom_counter_add(exec->env.server->metrics.reads, node, 1);
    }
    if (exec->http_status != 0)
        finish_refused(exec, &answer);
    else
        finish_response(exec, &answer);
    gql_response_free(exec->response);
    gql_request_free(exec->request);
    app_schema_release(exec->schema);
    free(exec->mutation_id);
    free(exec->role);
    free(exec->claims);
    free(exec);
}

/* ----------------------------------------------------------------- the request's role */

/* The statements submitted until role_end run as the request's role (db_pool sets it where
 * it changes); without a role they run as the server's own. */
static void role_begin(exec_request *exec)
{
    if (exec->role != NULL)
        db_pool_identity_begin(exec->env.pool, exec->role, exec->claims);
}

static void role_end(exec_request *exec)
{
    if (exec->role != NULL)
        db_pool_identity_end(exec->env.pool);
}

/* The database refused the request's role (error is DB_POOL_ERROR_ROLE): the whole request
 * is refused, 401 for a role that does not exist, 403 for one the server may not take. */
static void role_refused(exec_request *exec, const char *error)
{
    if (strstr(error, "(SQLSTATE " NO_SUCH_ROLE_SQLSTATE ")") != NULL) {
        exec->http_status = 401;
        snprintf(exec->role_error, sizeof exec->role_error,
                 "The token's role \"%.64s\" does not exist in the database: use a token whose role claim "
                 "names a database role.", exec->role);
    } else {
        exec->http_status = 403;
        snprintf(exec->role_error, sizeof exec->role_error,
                 "The token's role \"%.64s\" may not be used here: the server's database role is not a "
                 "member of it (GRANT %.64s TO the server's role, or use a token with another role).",
                 exec->role, exec->role);
    }
    log_info("request %s: taking role \"%s\" failed: %s", exec->request_id, exec->role, error);
}

/* ----------------------------------------------------------------- queries */

typedef struct field_job {
    exec_request *exec;
    size_t index;
    const schema_map_field *mapping;
} field_job;

static void run_query(exec_request *exec);

/* The query runs on node (a replica's index, -1: the primary). */
static void query_use_node(exec_request *exec, int node)
{
    exec->node = node;
    exec->env.pool = node >= 0 ? exec->env.replica_pools[node] : exec->primary;
}

static void query_field_done(exec_request *exec)
{
    if (--exec->pending > 0)
        return;
    if (exec->replica_failed) {
        /* Its answers so far are dropped: the whole query is answered by the primary. */
        exec->replica_failed = false;
        gql_response_free(exec->response);
        exec->response = gql_response_new(exec->request);
        query_use_node(exec, -1);
        run_query(exec);
        return;
    }
    finish(exec);
}

/* A document from the database, read so that its numbers are answered with the digits
 * PostgreSQL wrote (numeric 24.50, bigint keys above 2^53). It is valid JSON, but jsonb nests
 * deeper than the reader goes (CJSON_NESTING_LIMIT), so it may still not parse. Then the
 * field is an error (null and an error, as for any resolver failure) and the server goes on.
 * NULL after recording it. */
static cJSON *parse_document(exec_request *exec, size_t index, const char *text)
{
    cJSON *value = gql_json_read(text, strlen(text));
    if (value == NULL) {
        log_warning("request %s: %s: the database returned a document this server cannot read "
                    "(%zu bytes; nested more than %d levels deep?)",
                    exec->request_id, exec->fields[index].response_key, strlen(text), CJSON_NESTING_LIMIT);
        field_error(exec, index, "INTERNAL_SERVER_ERROR",
                    "The stored document could not be read: it may be nested too deeply.");
    }
    return value;
}

/* A replica's failure the primary may not have: the replica is down or was lost, or
 * canceled the read in a conflict with its recovery (SQLSTATE 40001, 57P04). Not a
 * statement_timeout or the request's deadline: the read would cost as much again on
 * the primary, past the limits the request had. */
static bool replica_error_retryable(const char *error)
{
    switch (db_pool_error_classify(error)) {
    case DB_POOL_ERROR_UNAVAILABLE:
    case DB_POOL_ERROR_LOST:
        return true;
    case DB_POOL_ERROR_TIMEOUT:
    case DB_POOL_ERROR_CANCELED:
        return false;
    case DB_POOL_ERROR_STATEMENT:
        return strstr(error, "conflict with recovery") != NULL || strstr(error, "(SQLSTATE 40001)") != NULL ||
               strstr(error, "(SQLSTATE 57P04)") != NULL;
    case DB_POOL_ERROR_NONE:
    case DB_POOL_ERROR_ROLE:
        break;
    }
    return false;
}

/* What a client reads about a database failure: its kind and the request id, never the
 * server's message, host or port (those can show schema, data or where the database runs);
 * the log line with the same request id has them. */
static void database_error(exec_request *exec, size_t index, const char *error)
{
    if (exec->http_status != 0)
        return; /* the whole request is refused */
    if (exec->node >= 0 && replica_error_retryable(error)) {
        log_info("request %s: %s: %s did not answer (%s); the primary answers", exec->request_id,
                 exec->fields[index].response_key, replica_set_label(exec->env.replicas, exec->node), error);
        exec->replica_failed = true;
        return;
    }
    if (db_pool_error_classify(error) == DB_POOL_ERROR_ROLE && exec->role != NULL) {
        role_refused(exec, error);
        return;
    }
    log_warning("request %s: %s: %s", exec->request_id, exec->fields[index].response_key, error);
    const tvsync_config *config = exec->env.server->config;
    /* Only the mutation function's own failure leaves its outcome in doubt; the statements
     * after it run once it committed. */
    bool may_have_run = exec->writing && strstr(error, "may or may not have run") != NULL;
    /* A mutation still waiting for a connection at the deadline never reached the database. */
    bool never_sent = exec->writing && strstr(error, "; not sent") != NULL;
    const char *code = "DATABASE_ERROR";
    char message[300];
    switch (db_pool_error_classify(error)) {
    case DB_POOL_ERROR_TIMEOUT:
        code = "DATABASE_TIMEOUT";
        snprintf(message, sizeof message, "The database did not answer within %.1f s (server.request_deadline)%s; "
                 "request id %s.", config->server.request_deadline_ms / 1000.0,
                 may_have_run ? "; the mutation may have committed: read it back before retrying"
                 : never_sent ? "; the mutation was not sent: nothing was written"
                              : "",
                 exec->request_id);
        break;
    case DB_POOL_ERROR_CANCELED:
        code = "DATABASE_TIMEOUT";
        snprintf(message, sizeof message, "The database did not answer within %.1f s (server.statement_timeout) "
                 "and canceled the statement%s; request id %s.", config->server.statement_timeout_ms / 1000.0,
                 exec->writing ? "; nothing was written" : "",
                 exec->request_id);
        break;
    case DB_POOL_ERROR_LOST:
        code = "DATABASE_UNAVAILABLE";
        snprintf(message, sizeof message, "The database connection was lost%s; request id %s.",
                 may_have_run ? "; the mutation may have committed: read it back before retrying" : "",
                 exec->request_id);
        break;
    case DB_POOL_ERROR_UNAVAILABLE:
        code = "DATABASE_UNAVAILABLE";
        snprintf(message, sizeof message, "The database is unavailable; retry later (request id %s; the server log "
                 "has the details).", exec->request_id);
        break;
    case DB_POOL_ERROR_NONE:
    case DB_POOL_ERROR_ROLE: /* without a role of the request's: cannot happen */
    case DB_POOL_ERROR_STATEMENT:
        snprintf(message, sizeof message, "database error; see the server log, request id %s", exec->request_id);
        break;
    }
    field_error(exec, index, code, message);
}

static void lookup_result_cb(void *arg, const PGresult *result, const char *error)
{
    field_job *job = arg;
    exec_request *exec = job->exec;
    if (error != NULL) {
        database_error(exec, job->index, error);
    } else if (PQntuples(result) == 0) {
        gql_response_set_root(exec->response, job->index, NULL);
    } else {
        cJSON *document = parse_document(exec, job->index, PQgetvalue(result, 0, 0));
        if (document != NULL)
            gql_response_set_root(exec->response, job->index, document);
        cJSON_Delete(document);
    }
    free(job);
    query_field_done(exec);
}

static void list_result_cb(void *arg, const PGresult *result, const char *error)
{
    field_job *job = arg;
    exec_request *exec = job->exec;
    if (error != NULL) {
        database_error(exec, job->index, error);
    } else {
        cJSON *list = alloc_check(cJSON_CreateArray());
        int rows = PQntuples(result);
        bool readable = true;
        for (int row = 0; row < rows && readable; row++) {
            cJSON *document = parse_document(exec, job->index, PQgetvalue(result, row, 0));
            readable = document != NULL;
            if (readable)
                cJSON_AddItemToArray(list, document);
        }
        if (readable)
            gql_response_set_root(exec->response, job->index, list);
        cJSON_Delete(list);
    }
    free(job);
    query_field_done(exec);
}

static void function_result_cb(void *arg, const PGresult *result, const char *error)
{
    field_job *job = arg;
    exec_request *exec = job->exec;
    if (error != NULL) {
        database_error(exec, job->index, error);
    } else if (PQntuples(result) == 0 || PQgetisnull(result, 0, 0)) {
        gql_response_set_root(exec->response, job->index, NULL);
    } else {
        cJSON *value = parse_document(exec, job->index, PQgetvalue(result, 0, 0));
        if (value != NULL)
            gql_response_set_root(exec->response, job->index, value);
        cJSON_Delete(value);
    }
    free(job);
    query_field_done(exec);
}

/* What an id of the key type looks like, for the error that refuses another. */
static const char *key_description(schema_map_key key)
{
    switch (key) {
    case SCHEMA_MAP_KEY_UUID:
        return "UUID";
    case SCHEMA_MAP_KEY_BIGINT:
        return "bigint (a decimal integer of at most 64 bits)";
    case SCHEMA_MAP_KEY_INTEGER:
        return "integer (a decimal integer of at most 32 bits)";
    case SCHEMA_MAP_KEY_TEXT:
        return "text key";
    case SCHEMA_MAP_KEY_UNKNOWN:
        break;
    }
    return "key (the table's key type is unknown)";
}

/* The field's arguments as JSON text (caller frees), or NULL after recording an error. */
static char *arguments_json(exec_request *exec, size_t index, const cJSON **arguments_out)
{
    char *error = NULL;
    const cJSON *arguments = gql_request_arguments(exec->request, &exec->fields[index], &error);
    if (arguments == NULL) {
        field_error(exec, index, "BAD_USER_INPUT", error ? error : "invalid arguments");
        free(error);
        return NULL;
    }
    if (arguments_out)
        *arguments_out = arguments;
    /* the engine's writer: a Decimal's 24.50 or a key's 9007199254740993 keeps its digits */
    gql_buf text;
    gql_buf_init(&text);
    gql_buf_json_value(&text, arguments);
    return text.data;
}

/* Starts one query root field; returns false when it finished at once (error or engine field). */
static bool start_query_field(exec_request *exec, size_t index)
{
    const gql_plan_field *field = &exec->fields[index];
    if (field->kind != GQL_FIELD_NORMAL) {
        gql_response_set_root(exec->response, index, NULL);
        return false;
    }
    const schema_map_field *mapping = schema_map_find(exec->schema->map, field->definition);
    if (mapping == NULL) {
        field_error(exec, index, "INTERNAL_SERVER_ERROR", "this field is not mapped to the database");
        return false;
    }
    const cJSON *arguments = NULL;
    char *arguments_text = arguments_json(exec, index, &arguments);
    if (arguments_text == NULL)
        return false;
    field_job *job = alloc_calloc(1, sizeof *job);
    job->exec = exec;
    job->index = index;
    job->mapping = mapping;
    bool started = true;
    switch (mapping->kind) {
    case SCHEMA_MAP_LOOKUP: {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(arguments, "id");
        schema_map_key key = mapping->table->key;
        if (!cJSON_IsString(id) || !sql_is_key(key, id->valuestring)) {
            char message[200];
            snprintf(message, sizeof message, "id \"%.64s\" is not a valid %s",
                     cJSON_IsString(id) ? id->valuestring : "", key_description(key));
            field_error(exec, index, "VALIDATION_FAILED", message);
            started = false;
            break;
        }
        const char *params[] = {id->valuestring};
        db_pool_submit(exec->env.pool, mapping->table->lookup_sql, 1, params,
                       DB_POOL_PREPARED | DB_POOL_RETRY_ON_LOSS, lookup_result_cb, job);
        break;
    }
    case SCHEMA_MAP_LIST: {
        sql_statement statement;
        sql_statement_init(&statement);
        char error[300];
        if (!sql_build_list(mapping, arguments, exec->env.server->config->server.max_limit, &statement, error,
                            sizeof error)) {
            field_error(exec, index, "VALIDATION_FAILED", error);
            started = false;
        } else {
            db_pool_submit(exec->env.pool, statement.text.data, statement.param_count,
                           (const char *const *) statement.params, DB_POOL_RETRY_ON_LOSS, list_result_cb, job);
        }
        sql_statement_free(&statement);
        break;
    }
    case SCHEMA_MAP_FUNCTION: {
        const char *params[] = {arguments_text};
        db_pool_submit(exec->env.pool, mapping->function_sql, 1, params,
                       DB_POOL_PREPARED | DB_POOL_RETRY_ON_LOSS, function_result_cb, job);
        break;
    }
    case SCHEMA_MAP_MUTATION:
        field_error(exec, index, "INTERNAL_SERVER_ERROR", "a mutation field in a query");
        started = false;
        break;
    }
    free(arguments_text);
    if (!started)
        free(job);
    return started;
}

static void run_query(exec_request *exec)
{
    if (exec->http_status != 0) {
        finish(exec);
        return;
    }
    /* pending counts one extra until every field is started, so a field that completes
     * synchronously cannot finish the request early. */
    exec->pending = exec->field_count + 1;
    role_begin(exec);
    for (size_t i = 0; i < exec->field_count; i++)
        if (!start_query_field(exec, i))
            exec->pending--;
    role_end(exec);
    query_field_done(exec);
}

/* ----------------------------------------------------------------- replicas */

static void replica_wait_end(exec_request *exec, const char *result, int node)
{
    if (exec->replica_timer != NULL) {
        event_free(exec->replica_timer);
        exec->replica_timer = NULL;
        replica_set_waiting(exec->env.replicas, false);
    }
    const char *label[] = {result};
    prom_counter_add(exec->env.server->metrics.replica_waits, label, 1);
    query_use_node(exec, node);
    run_query(exec);
}

static void replica_wait_cb(evutil_socket_t fd, short what, void *arg)
{
    exec_request *exec = arg;
    int node = replica_set_pick_reached(exec->env.replicas, exec->min_lsn, exec->env.replica_cursor);
    if (node >= 0) {
        replica_wait_end(exec, "reached", node);
    } else if (seconds_since(&exec->replica_wait_started) * 1000 >=
                   exec->env.server->config->server.replica_wait_timeout_ms ||
               !replica_set_any_alive(exec->env.replicas)) {
        replica_wait_end(exec, "timeout", -1);
    } else {
        /* the prober probes every millisecond while anyone waits: look again soon */
        struct timeval again = {0, 250};
        evtimer_add(exec->replica_timer, &again);
    }
}

/* A query goes to a replica: any that is up, or with a token one that replayed it. No
 * statement is added: the prober's figures decide. */
static void start_query(exec_request *exec)
{
    replica_set *replicas = exec->env.replicas;
    if (replica_set_count(replicas) == 0) {
        query_use_node(exec, -1);
        run_query(exec);
        return;
    }
    if (exec->min_lsn == 0) {
        query_use_node(exec, replica_set_pick(replicas, exec->env.replica_cursor));
        run_query(exec);
        return;
    }
    int node = replica_set_pick_reached(replicas, exec->min_lsn, exec->env.replica_cursor);
    if (node >= 0) {
        replica_wait_end(exec, "reached", node);
        return;
    }
    if (exec->env.server->config->server.replica_wait_timeout_ms == 0 || !replica_set_any_alive(replicas)) {
        replica_wait_end(exec, "none", -1);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &exec->replica_wait_started);
    exec->replica_timer = alloc_check(evtimer_new(exec->env.base, replica_wait_cb, exec));
    replica_set_waiting(replicas, true);
    struct timeval soon = {0, 250};
    evtimer_add(exec->replica_timer, &soon);
}

/* ----------------------------------------------------------------- mutations */

static void run_next_mutation(exec_request *exec);

static void mutation_field_done(exec_request *exec)
{
    free(exec->mutation_id);
    exec->mutation_id = NULL;
    exec->mutation_entity[0] = '\0';
    exec->waited_lsn[0] = '\0';
    exec->current++;
    run_next_mutation(exec);
}

static void dead_letter_cb(void *arg, const PGresult *result, const char *error)
{
    exec_request *exec = arg;
    const char *key = exec->fields[exec->current].response_key;
    if (error != NULL) {
        log_warning("request %s: %s: %s %s is missing from its read model and looking for its dead letter "
                    "failed: %s", exec->request_id, key, exec->mutation_entity, exec->mutation_id, error);
        gql_response_set_root(exec->response, exec->current, NULL);
    } else if (PQntuples(result) == 0 || PQgetisnull(result, 0, 0)) {
        gql_response_set_root(exec->response, exec->current, NULL);
    } else {
        /* The reason may show data or internals: operators read it here, clients do not. */
        log_warning("request %s: %s committed %s %s, but tvsync-cdc could not build its read model "
                    "(tvsync.dead_letter): %s", exec->request_id, key, exec->mutation_entity, exec->mutation_id,
                    PQgetvalue(result, 0, 0));
        field_error(exec, exec->current, "SYNC_FAILED",
                    "The write was committed, but its read model could not be built, so its result cannot be "
                    "shown; the server log has the reason.");
    }
    mutation_field_done(exec);
}

static void mutation_read_cb(void *arg, const PGresult *result, const char *error)
{
    exec_request *exec = arg;
    if (error != NULL) {
        database_error(exec, exec->current, error);
    } else if (PQntuples(result) == 0 && exec->waited_lsn[0] != '\0' && exec->mutation_entity[0] != '\0') {
        /* Applied but not there: deleted since, or its intent was dead-lettered. Only
         * this case pays for the question. */
        const char *params[] = {exec->waited_lsn, exec->mutation_entity, exec->mutation_id};
        role_begin(exec);
        db_pool_submit(exec->env.pool, "SELECT tvsync.dead_letter_reason($1::pg_lsn, $2, $3)", 3, params,
                       DB_POOL_PREPARED | DB_POOL_RETRY_ON_LOSS, dead_letter_cb, exec);
        role_end(exec);
        return;
    } else if (PQntuples(result) == 0) {
        /* Without the wait, a created row may not be in its tv_* table yet. */
        gql_response_set_root(exec->response, exec->current, NULL);
    } else {
        cJSON *document = parse_document(exec, exec->current, PQgetvalue(result, 0, 0));
        if (document != NULL)
            gql_response_set_root(exec->response, exec->current, document);
        cJSON_Delete(document);
    }
    mutation_field_done(exec);
}

/* The write is applied (or the client did not wait): answer with the entity. */
static void mutation_read(exec_request *exec)
{
    const gql_plan_field *field = &exec->fields[exec->current];
    const schema_map_field *mapping = schema_map_find(exec->schema->map, field->definition);
    if (mapping->table == NULL || exec->mutation_id == NULL) {
        cJSON *id = alloc_check(exec->mutation_id ? cJSON_CreateString(exec->mutation_id) : cJSON_CreateNull());
        gql_response_set_root(exec->response, exec->current, id);
        cJSON_Delete(id);
        mutation_field_done(exec);
        return;
    }
    if (!sql_is_key(mapping->table->key, exec->mutation_id)) {
        log_warning("request %s: %s: the mutation function returned id \"%s\", not a valid %s key of %s",
                    exec->request_id, field->response_key, exec->mutation_id, schema_map_key_name(mapping->table->key),
                    mapping->table->quoted_name);
        field_error(exec, exec->current, "INTERNAL_SERVER_ERROR",
                    "The write was committed, but the mutation returned an id its table cannot have.");
        mutation_field_done(exec);
        return;
    }
    const char *params[] = {exec->mutation_id};
    role_begin(exec);
    db_pool_submit(exec->env.pool, mapping->table->lookup_sql, 1, params,
                   DB_POOL_PREPARED | DB_POOL_RETRY_ON_LOSS, mutation_read_cb, exec);
    role_end(exec);
}

static void sync_done_cb(void *arg, bool applied)
{
    exec_request *exec = arg;
    app_metrics *metrics = &exec->env.server->metrics;
    const char *result[] = {applied ? "applied" : "timeout"};
    prom_counter_add(metrics->sync_waits, result, 1);
    prom_histogram_observe(metrics->sync_wait_seconds, NULL, seconds_since(&exec->wait_started));
    if (applied) {
        lsn_t token = sync_wait_token(exec->env.sync, exec->publish_lsn, exec->wait_bound);
        if (token > exec->token)
            exec->token = token;
        mutation_read(exec);
        return;
    }
    exec->read_model_behind = true;
    log_warning("request %s: %s committed but tvsync-cdc did not apply it within %d ms",
                exec->request_id, exec->fields[exec->current].response_key,
                exec->env.server->config->server.sync_wait_timeout_ms);
    field_error(exec, exec->current, "SYNC_TIMEOUT",
                "The write was committed but the read model did not catch up in time; it will appear shortly.");
    mutation_field_done(exec);
}

/* The statuses a mutation function may answer besides ok (tvsync-intents(7)), as
 * extensions.code; NULL for any other. */
static const char *status_code(const char *status)
{
    if (strcmp(status, "not_found") == 0)
        return "NOT_FOUND";
    if (strcmp(status, "conflict") == 0)
        return "CONFLICT";
    if (strcmp(status, "validation_failed") == 0)
        return "VALIDATION_FAILED";
    return NULL;
}

#define MUTATION_STATUSES "ok, validation_failed, not_found, conflict"

/* The wait's target: the WAL flushed after the mutation committed (at or past its
 * commit record), so the applied position reaches it only once the mutation is applied. */
static void commit_position_cb(void *arg, const PGresult *result, const char *error)
{
    exec_request *exec = arg;
    lsn_t target = exec->publish_lsn, flushed;
    if (error == NULL && PQntuples(result) == 1 && !PQgetisnull(result, 0, 0) &&
        lsn_parse(PQgetvalue(result, 0, 0), &flushed)) {
        if (flushed > target)
            target = flushed;
    } else {
        /* Rare (the connection lost twice): the message's LSN is the best left. */
        log_warning("request %s: %s: reading the WAL position after the commit failed (%s); waiting for its "
                    "intent message only", exec->request_id, exec->fields[exec->current].response_key,
                    error ? error : "no row");
    }
    char text[LSN_FORMAT_SIZE], message[LSN_FORMAT_SIZE];
    exec->wait_bound = target;
    lsn_format(target, text);
    lsn_format(exec->publish_lsn, message);
    log_debug("request %s: %s waits for %s (its intents end at %s)", exec->request_id,
              exec->fields[exec->current].response_key, text, message);
    sync_wait_until(exec->env.sync, exec->publish_lsn, target, exec->env.server->config->server.sync_wait_timeout_ms,
                    sync_done_cb, exec);
}

static void mutation_result_cb(void *arg, const PGresult *result, const char *error)
{
    exec_request *exec = arg;
    if (error != NULL) {
        const char *sqlstate = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
        const char *status = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL) : NULL;
        const char *message = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        if (sqlstate != NULL && strcmp(sqlstate, MUTATION_FAILED_SQLSTATE) == 0 && status != NULL &&
            message != NULL) {
            /* The mutation answered with a status other than ok: its writes were undone. */
            const char *code = status_code(status);
            if (code != NULL) {
                log_info("request %s: %s: %s: %s", exec->request_id, exec->fields[exec->current].response_key,
                         status, message);
                field_error(exec, exec->current, code, message);
            } else {
                /* A typo such as NOT_FOUND in the function: say so rather than guess. */
                char text[400];
                snprintf(text, sizeof text,
                         "The mutation function answered status \"%.100s\", which is not one of " MUTATION_STATUSES
                         "; nothing was written.", status);
                log_warning("request %s: %s: %s (its message: %s)", exec->request_id,
                            exec->fields[exec->current].response_key, text, message);
                field_error(exec, exec->current, "INTERNAL_SERVER_ERROR", text);
            }
        } else if (sqlstate != NULL && strcmp(sqlstate, NOT_A_MEMBER_SQLSTATE) == 0 && message != NULL &&
                   exec->http_status == 0) {
            /* The caller's role may not do this (a grant, or a check in the function such as
             * ownership): its writes were undone. */
            log_info("request %s: %s: refused: %s", exec->request_id, exec->fields[exec->current].response_key,
                     message);
            field_error(exec, exec->current, "FORBIDDEN", message);
        } else {
            database_error(exec, exec->current, error);
        }
        exec->writing = false;
        mutation_field_done(exec);
        return;
    }
    exec->writing = false;
    if (!PQgetisnull(result, 0, 3)) {
        exec->mutation_id = alloc_strdup(PQgetvalue(result, 0, 3));
    }
    const char *entity = PQgetisnull(result, 0, 2) ? "" : PQgetvalue(result, 0, 2);
    if (strlen(entity) < sizeof exec->mutation_entity)
        memcpy(exec->mutation_entity, entity, strlen(entity) + 1);
    app_metrics *metrics = &exec->env.server->metrics;
    lsn_t target;
    if (PQgetisnull(result, 0, 4) || !lsn_parse(PQgetvalue(result, 0, 4), &target)) {
        const char *label[] = {"none"};
        prom_counter_add(metrics->sync_waits, label, 1);
        mutation_read(exec);
        return;
    }
    if (!exec->wait_for_sync) {
        const char *label[] = {"skipped"};
        prom_counter_add(metrics->sync_waits, label, 1);
        exec->read_model_behind = true;
        mutation_read(exec);
        return;
    }
    snprintf(exec->waited_lsn, sizeof exec->waited_lsn, "%s", PQgetvalue(result, 0, 4));
    exec->publish_lsn = target;
    clock_gettime(CLOCK_MONOTONIC, &exec->wait_started);
    /* The intent message's LSN is not enough to wait for: tvsync-cdc applies in commit
     * order, and a transaction that committed between this one's message and its commit
     * moves the applied position past the message first. The WAL flushed now (this
     * mutation's commit is) lies at or past the commit. */
    db_pool_submit(exec->env.pool, "SELECT pg_current_wal_flush_lsn()::text", 0, NULL,
                   DB_POOL_PREPARED | DB_POOL_RETRY_ON_LOSS, commit_position_cb, exec);
}

/* Mutation fields run one after the other: one that would start after the request's
 * deadline is not run (it is said so) rather than keep the client waiting past it. */
static bool mutation_past_deadline(exec_request *exec, size_t index)
{
    int deadline_ms = exec->env.server->config->server.request_deadline_ms;
    if (seconds_since(&exec->started) * 1000 < deadline_ms)
        return false;
    char message[200];
    snprintf(message, sizeof message, "Not run: the request passed server.request_deadline (%.1f s) before this "
             "mutation could start; request id %s.", deadline_ms / 1000.0, exec->request_id);
    log_warning("request %s: %s: not run, past the request deadline", exec->request_id,
                exec->fields[index].response_key);
    field_error(exec, index, "DATABASE_TIMEOUT", message);
    exec->current++;
    return true;
}

static void run_next_mutation(exec_request *exec)
{
    while (exec->current < exec->field_count && exec->http_status == 0) {
        size_t index = exec->current;
        const gql_plan_field *field = &exec->fields[index];
        if (field->kind != GQL_FIELD_NORMAL) {
            gql_response_set_root(exec->response, index, NULL);
            exec->current++;
            continue;
        }
        const schema_map_field *mapping = schema_map_find(exec->schema->map, field->definition);
        if (mapping == NULL || mapping->kind != SCHEMA_MAP_MUTATION) {
            field_error(exec, index, "INTERNAL_SERVER_ERROR", "this field is not mapped to a SQL function");
            exec->current++;
            continue;
        }
        if (index > 0 && mutation_past_deadline(exec, index))
            continue;
        char *arguments_text = arguments_json(exec, index, NULL);
        if (arguments_text == NULL) {
            exec->current++;
            continue;
        }
        const char *params[] = {arguments_text};
        exec->writing = true;
        /* Last in its transaction: its answer comes once the transaction committed, so the
         * wait that follows is for a committed write. */
        role_begin(exec);
        db_pool_submit(exec->env.pool, mapping->function_sql, 1, params, DB_POOL_PREPARED,
                       mutation_result_cb, exec);
        role_end(exec);
        free(arguments_text);
        return;
    }
    finish(exec);
}

void executor_run(const executor_env *env, app_schema *schema, gql_request *request,
                  const auth_identity *identity, bool wait_for_sync, lsn_t min_lsn, const char *request_id,
                  executor_done_fn done, void *arg)
{
    exec_request *exec = alloc_calloc(1, sizeof *exec);
    if (identity != NULL && identity->role != NULL) {
        exec->role = alloc_strdup(identity->role);
        exec->claims = alloc_strdup(identity->claims_json ? identity->claims_json : "{}");
    }
    exec->env = *env;
    exec->primary = env->pool;
    exec->node = -1;
    exec->min_lsn = min_lsn;
    exec->schema = schema;
    exec->request = request;
    exec->response = gql_response_new(request);
    exec->fields = gql_request_fields(request, &exec->field_count);
    exec->wait_for_sync = wait_for_sync;
    exec->done = done;
    exec->done_arg = arg;
    snprintf(exec->request_id, sizeof exec->request_id, "%s", request_id ? request_id : "-");
    exec->mutation = gql_request_operation_type(request) == GQL_OPERATION_MUTATION;
    if (exec->role != NULL && strcmp(exec->role, "none") == 0) {
        /* set_config('role', 'none') would go back to the server's own role */
        exec->http_status = 401;
        snprintf(exec->role_error, sizeof exec->role_error,
                 "The token's role \"none\" is not a role: use a token whose role claim names a database role.");
        finish(exec);
    } else if (exec->mutation) {
        clock_gettime(CLOCK_MONOTONIC, &exec->started);
        run_next_mutation(exec);
    } else {
        start_query(exec);
    }
}
