/* fuzz_validate: libFuzzer target for parse + validate + plan against the differential test's
 * schema (tests/graphql/schema.graphql), through the engine's public contract (graphql.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/graphql/graphql.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef TVSYNC_FUZZ_SCHEMA
#define TVSYNC_FUZZ_SCHEMA "tests/graphql/schema.graphql"
#endif

static gql_schema *schema;
static gql_plan_cache *cache;

static char *read_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    char *text = NULL;
    if (fseek(file, 0, SEEK_END) == 0) {
        long end = ftell(file);
        if (end >= 0 && fseek(file, 0, SEEK_SET) == 0) {
            text = malloc((size_t)end + 1);
            if (text != NULL && fread(text, 1, (size_t)end, file) == (size_t)end) {
                text[end] = '\0';
                *length = (size_t)end;
            } else {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(file);
    return text;
}

/* The schema path comes from TVSYNC_FUZZ_SCHEMA in the environment (make check sets it), else
 * from the build. Without a schema there is nothing to fuzz: fail loudly, never pass. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("TVSYNC_FUZZ_SCHEMA");
    if (path == NULL)
        path = TVSYNC_FUZZ_SCHEMA;
    size_t length = 0;
    char *sdl = read_file(path, &length);
    if (sdl == NULL) {
        fprintf(stderr, "fuzz_validate: cannot read the schema %s\n", path);
        exit(1);
    }
    char *error = NULL;
    schema = gql_schema_parse(sdl, length, &error);
    free(sdl);
    if (schema == NULL) {
        fprintf(stderr, "fuzz_validate: %s: %s\n", path, error ? error : "schema error");
        exit(1);
    }
    /* Small, so that eviction runs too. */
    cache = gql_plan_cache_new(schema, 16, NULL);
    return 0;
}

/* Variables for the request come from the document itself: the rest of the line after the
 * last "#vars:" (a comment, so the document still parses). The fuzzer then mutates variable
 * JSON and documents together. Returns a malloc'd string, or NULL when there is none. */
static char *variables_comment(const char *document, size_t size)
{
    static const char marker[] = "#vars:";
    const size_t marker_length = sizeof marker - 1;
    const char *found = NULL;
    for (size_t i = 0; i + marker_length <= size; i++)
        if (memcmp(document + i, marker, marker_length) == 0)
            found = document + i + marker_length;
    if (found == NULL)
        return NULL;
    size_t length = 0;
    while (found + length < document + size && found[length] != '\n' && found[length] != '\r')
        length++;
    char *variables = malloc(length + 1);
    if (variables == NULL)
        return NULL;
    memcpy(variables, found, length);
    variables[length] = '\0';
    return variables;
}

/* Every error must have a message, and locations with positive line and column. */
static void check_errors(const cJSON *errors)
{
    if (!cJSON_IsArray(errors))
        __builtin_trap();
    const cJSON *error;
    cJSON_ArrayForEach(error, errors) {
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
        if (!cJSON_IsString(message) || message->valuestring[0] == '\0')
            __builtin_trap();
        const cJSON *locations = cJSON_GetObjectItemCaseSensitive(error, "locations");
        const cJSON *location;
        cJSON_ArrayForEach(location, locations) {
            const cJSON *line = cJSON_GetObjectItemCaseSensitive(location, "line");
            const cJSON *column = cJSON_GetObjectItemCaseSensitive(location, "column");
            if (!cJSON_IsNumber(line) || !cJSON_IsNumber(column) || line->valuedouble < 1 ||
                column->valuedouble < 1)
                __builtin_trap();
        }
    }
}

/* Time per input. Lexing, parsing, validation, planning and coercion are linear in the
 * document, so an input may use a fixed allowance plus one per byte, both generous (ASan and
 * UBSan slow every access; CPU time of this thread, so other processes do not count): an
 * input over it shows superlinear work, which a hostile client would turn into a stall.
 * TVSYNC_FUZZ_TIME_SCALE multiplies the budget on a slow machine. */
#define INPUT_BASE_SECONDS 0.5
#define INPUT_SECONDS_PER_BYTE 40e-6

static double thread_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void check_time(double started, size_t size)
{
    static double scale = 0;
    if (scale == 0) {
        const char *text = getenv("TVSYNC_FUZZ_TIME_SCALE");
        scale = text != NULL && atof(text) > 0 ? atof(text) : 1;
    }
    double spent = thread_seconds() - started;
    double budget = scale * (INPUT_BASE_SECONDS + INPUT_SECONDS_PER_BYTE * (double)size);
    if (spent > budget) {
        fprintf(stderr,
                "fuzz_validate: an input of %zu bytes took %.3fs of CPU, over its budget of %.3fs "
                "(%.1fs + %.0fus per byte): the engine's work grows faster than the input\n",
                size, spent, budget, scale * INPUT_BASE_SECONDS, scale * INPUT_SECONDS_PER_BYTE * 1e6);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double started = thread_seconds();
    /* No terminating NUL: reading past the end is caught by AddressSanitizer. */
    char *document = malloc(size == 0 ? 1 : size);
    if (document == NULL)
        return 0;
    memcpy(document, data, size);

    cJSON *validation_errors = gql_validate_document(schema, document, size, NULL, NULL);
    check_errors(validation_errors);
    bool valid = cJSON_GetArraySize(validation_errors) == 0;
    cJSON_Delete(validation_errors);

    /* gql_prepare must agree with gql_validate_document on what is acceptable. */
    cJSON *errors = NULL;
    gql_prepared *prepared = gql_prepare(schema, document, size, NULL, NULL, &errors);
    if ((prepared != NULL) != valid)
        __builtin_trap();
    if (prepared == NULL) {
        check_errors(errors);
        cJSON_Delete(errors);
    } else {
        /* Plan and execute against an empty root value: every field resolves to null,
         * which drives null propagation through the whole plan. */
        char *variables = variables_comment(document, size);
        gql_request *request = gql_request_new_json(prepared, variables, &errors);
        free(variables);
        if (request != NULL) {
            cJSON *root = cJSON_CreateObject();
            gql_buf out;
            gql_buf_init(&out);
            gql_execute_json(request, root, &out);
            cJSON *response = cJSON_ParseWithLength(out.data, out.len);
            if (response == NULL)
                __builtin_trap(); /* the response must be JSON */
            cJSON_Delete(response);
            gql_buf_free(&out);
            cJSON_Delete(root);
            gql_request_free(request);
        } else {
            check_errors(errors);
            cJSON_Delete(errors);
        }
        gql_prepared_release(prepared);
    }

    /* The plan cache: it accepts what gql_prepare accepts, and a document it accepted once is
     * a hit the second time. */
    for (int round = 0; round < 2; round++) {
        bool hit = false;
        errors = NULL;
        gql_prepared *cached = gql_plan_cache_get(cache, document, size, NULL, &errors, &hit);
        if ((cached != NULL) != valid || (round == 1 && valid && !hit))
            __builtin_trap();
        if (cached != NULL)
            gql_prepared_release(cached);
        else
            cJSON_Delete(errors);
    }
    free(document);
    check_time(started, size);
    return 0;
}
