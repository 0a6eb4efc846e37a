/* bench_graphql: how many times per second the GraphQL engine prepares (parse + validate) and
 * plans (variable coercion, field collection) the blog's typical documents, cold and cached.
 *
 * Every mode does, per operation, exactly what tvsync-server's worker does per request at the
 * engine's API (server/worker.c): the document text and the variables arrive as the HTTP
 * layer parsed them from the request body (text, and a cJSON object), then
 *   cold:   gql_prepare (lex, parse, validate, select, plan the fields)
 *   cached: gql_plan_cache_get (hash, lookup: a hit)
 *   then, both: gql_request_new (coerce the variables, take the plan), gql_request_free,
 *   gql_prepared_release.
 * cache-lookup is the cache hit alone (no request); cached-json also parses the variables'
 * JSON text per operation (gql_request_new_json), the HTTP layer's work, for reference. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/graphql/graphql.h"

/* One document to measure, with its variables (JSON text, NULL when none). */
typedef struct bench_document {
    const char *name;
    char *text;
    size_t length;
    char *variables;
    cJSON *variables_parsed; /* as the server's HTTP layer hands them to the engine */
} bench_document;

typedef enum bench_mode {
    BENCH_COLD,        /* gql_prepare + gql_request_new: nothing reused */
    BENCH_CACHED,      /* plan cache hit + gql_request_new */
    BENCH_CACHE_ONLY,  /* plan cache hit alone */
    BENCH_CACHED_JSON, /* plan cache hit + gql_request_new_json (variables parsed too) */
} bench_mode;

#define BENCH_MODES 4
static const char *const bench_mode_names[BENCH_MODES] = {"cold", "cached", "cache-lookup",
                                                          "cached-json"};

/* Rounds per mode, interleaved (cold, cached, ..., cold, cached, ...): the best round of each
 * mode is reported, so a burst of load on the shared machine does not decide a ratio. */
#define BENCH_ROUNDS 5

/* Out of memory ends a benchmark: nothing sensible can be measured after it. */
static void *bench_realloc(void *pointer, size_t size)
{
    void *result = realloc(pointer, size);
    if (result == NULL) {
        fprintf(stderr, "bench_graphql: out of memory\n");
        exit(1);
    }
    return result;
}

/* CPU time of the process, not wall time: the rates must not depend on what else the machine
 * runs (the graphql-js side measures the same way, with process.cpuUsage). */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    size_t capacity = 4096, used = 0;
    char *text = bench_realloc(NULL, capacity);
    size_t n;
    while ((n = fread(text + used, 1, capacity - used - 1, file)) > 0) {
        used += n;
        if (capacity - used < 2)
            text = bench_realloc(text, capacity *= 2);
    }
    bool failed = ferror(file) != 0;
    fclose(file);
    if (failed) {
        free(text);
        return NULL;
    }
    text[used] = '\0';
    if (length != NULL)
        *length = used;
    return text;
}

/* One prepare + plan of `document`; false (with the errors printed) when it is refused,
 * since a benchmark of documents the engine rejects would measure the wrong thing. */
static bool bench_once(gql_schema *schema, gql_plan_cache *cache, const bench_document *document,
                       bench_mode mode)
{
    cJSON *errors = NULL;
    gql_prepared *prepared;
    if (mode == BENCH_COLD)
        prepared = gql_prepare(schema, document->text, document->length, NULL, NULL, &errors);
    else
        prepared = gql_plan_cache_get(cache, document->text, document->length, NULL, &errors, NULL);
    if (prepared == NULL) {
        char *text = cJSON_PrintUnformatted(errors);
        fprintf(stderr, "bench_graphql: %s is refused: %s\n", document->name, text ? text : "?");
        free(text);
        cJSON_Delete(errors);
        return false;
    }
    bool ok = true;
    if (mode != BENCH_CACHE_ONLY) {
        gql_request *request =
            mode == BENCH_CACHED_JSON
                ? gql_request_new_json(prepared, document->variables, &errors)
                : gql_request_new(prepared, document->variables_parsed, &errors);
        if (request == NULL) {
            char *text = cJSON_PrintUnformatted(errors);
            fprintf(stderr, "bench_graphql: %s: variables refused: %s\n", document->name,
                    text ? text : "?");
            free(text);
            cJSON_Delete(errors);
            ok = false;
        } else {
            gql_request_free(request);
        }
    }
    gql_prepared_release(prepared);
    return ok;
}

/* Runs batches until `seconds` have passed; returns operations per second, or -1. */
static double bench_rate(gql_schema *schema, gql_plan_cache *cache, const bench_document *document,
                         bench_mode mode, double seconds)
{
    if (!bench_once(schema, cache, document, mode)) /* also warms the cache */
        return -1;
    unsigned long operations = 0;
    unsigned long batch = 16;
    double start = now_seconds(), elapsed;
    do {
        for (unsigned long i = 0; i < batch; i++)
            if (!bench_once(schema, cache, document, mode))
                return -1;
        operations += batch;
        elapsed = now_seconds() - start;
        if (elapsed < seconds / 10)
            batch *= 2;
    } while (elapsed < seconds);
    return (double)operations / elapsed;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_graphql --schema SDL [--seconds S] [--mode MODE] DOCUMENT.graphql...\n"
                 "  A DOCUMENT.json next to a document holds its variables. S seconds of CPU time\n"
                 "  per mode, in %d interleaved rounds; the best round counts. MODE (default all):\n"
                 "  cold, cached, cache-lookup, cached-json.\n"
                 "  Prints one line per document and mode: c NAME MODE OPERATIONS_PER_SECOND\n",
            BENCH_ROUNDS);
}

int main(int argc, char **argv)
{
    const char *schema_path = NULL;
    double seconds = 1.0;
    int only_mode = -1; /* --mode: one mode alone, for profiling */
    int first_document = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc) {
            schema_path = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            seconds = strtod(argv[++i], &end);
            if (errno != 0 || *end != '\0' || seconds <= 0) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            i++;
            for (int mode = 0; mode < BENCH_MODES; mode++)
                if (strcmp(argv[i], bench_mode_names[mode]) == 0)
                    only_mode = mode;
            if (only_mode < 0) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return 2;
        } else {
            first_document = i;
            break;
        }
    }
    if (schema_path == NULL || first_document == argc) {
        usage(stderr);
        return 2;
    }

    size_t sdl_length;
    char *sdl = read_file(schema_path, &sdl_length);
    if (sdl == NULL) {
        fprintf(stderr, "bench_graphql: cannot read %s: %s\n", schema_path, strerror(errno));
        return 1;
    }
    char *error = NULL;
    gql_schema *schema = gql_schema_parse(sdl, sdl_length, &error);
    free(sdl);
    if (schema == NULL) {
        fprintf(stderr, "bench_graphql: %s: %s\n", schema_path, error ? error : "schema error");
        free(error);
        return 1;
    }
    gql_plan_cache *cache = gql_plan_cache_new(schema, 64, NULL);

    int status = 0;
    for (int i = first_document; i < argc && status == 0; i++) {
        bench_document document = {.name = argv[i]};
        document.text = read_file(argv[i], &document.length);
        if (document.text == NULL) {
            fprintf(stderr, "bench_graphql: cannot read %s: %s\n", argv[i], strerror(errno));
            status = 1;
            break;
        }
        /* variables: the same path with .json instead of .graphql */
        size_t path_length = strlen(argv[i]);
        if (path_length > 8 && strcmp(argv[i] + path_length - 8, ".graphql") == 0) {
            char *json_path = bench_realloc(NULL, path_length + 1);
            memcpy(json_path, argv[i], path_length - 8);
            strcpy(json_path + path_length - 8, ".json");
            document.variables = read_file(json_path, NULL);
            free(json_path);
            if (document.variables != NULL) {
                document.variables_parsed = cJSON_Parse(document.variables);
                if (!cJSON_IsObject(document.variables_parsed)) {
                    fprintf(stderr, "bench_graphql: %s: the variables are not a JSON object\n", argv[i]);
                    status = 1;
                    break;
                }
            }
        }
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        size_t name_length = strlen(base);
        if (name_length > 8 && strcmp(base + name_length - 8, ".graphql") == 0)
            name_length -= 8;
        double best[BENCH_MODES] = {0};
        for (int round = 0; round < BENCH_ROUNDS && status == 0; round++) {
            for (int mode = 0; mode < BENCH_MODES && status == 0; mode++) {
                if (only_mode >= 0 && mode != only_mode)
                    continue;
                double rate = bench_rate(schema, cache, &document, (bench_mode)mode,
                                         seconds / BENCH_ROUNDS);
                if (rate < 0)
                    status = 1;
                else if (rate > best[mode])
                    best[mode] = rate;
            }
        }
        for (int mode = 0; mode < BENCH_MODES && status == 0; mode++)
            if (only_mode < 0 || mode == only_mode)
                printf("c %.*s %s %.1f\n", (int)name_length, base, bench_mode_names[mode],
                       best[mode]);
        fflush(stdout);
        free(document.text);
        free(document.variables);
        cJSON_Delete(document.variables_parsed);
    }
    gql_plan_cache_free(cache);
    gql_schema_free(schema);
    return status;
}
