/* bench_documents: how fast tvsync-server reads tv_* documents (jsonb text) into cJSON trees,
 * with cJSON_Parse (numbers as doubles) and with gql_json_read (numbers with their digits).
 *
 * Per operation, what the executor does per document: read the text into a tree, then
 *   parse:    free it (the reader alone)
 *   complete: answer the blog's post-by-id query over it (gql_response_set_root, the
 *             response written), then free it.
 * Documents: the blog's post page (a post, its author, ten comments: mostly strings) and a
 * shop order of twenty lines (mostly numbers: numeric prices, bigint keys). Rates are per
 * second of CPU time, best of 5 interleaved rounds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/graphql/graphql.h"
#include "server/graphql/gql_json_read.h"

#define ROUNDS 5

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const uuid_prefix = "20000000-0000-4000-8000-0000000000";

/* A tv_post document as jsonb prints it (keys sorted by length then bytes, ": " and ", "). */
static void post_document(gql_buf *out)
{
    gql_buf_puts(out, "{\"id\": \"");
    gql_buf_printf(out, "%s01\", \"title\": \"Why read models beat joins on the hot path\", ", uuid_prefix);
    gql_buf_puts(out, "\"author\": {\"id\": \"10000000-0000-4000-8000-000000000001\", \"bio\": "
                      "\"Writes about databases.\", \"fullName\": \"Alice Example\", \"username\": "
                      "\"alice\"}, \"content\": \"");
    for (int i = 0; i < 8; i++)
        gql_buf_puts(out, "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do. ");
    gql_buf_puts(out, "\", \"comments\": [");
    for (int i = 0; i < 10; i++) {
        gql_buf_printf(out,
                       "%s{\"id\": \"30000000-0000-4000-8000-0000000000%02d\", \"author\": {\"id\": "
                       "\"10000000-0000-4000-8000-000000000002\", \"fullName\": \"Bob Example\", "
                       "\"username\": \"bob\"}, \"content\": \"Comment %d: thanks, this \\\"helped\\\" "
                       "a lot.\", \"createdAt\": \"2026-11-24T10:%02d:00+00:00\"}",
                       i ? ", " : "", i, i, i);
    }
    gql_buf_puts(out, "], \"createdAt\": \"2026-11-24T09:00:00+00:00\", \"published\": true, "
                      "\"updatedAt\": \"2026-11-24T09:30:00+00:00\", \"commentCount\": 10}");
}

/* A shop order: bigint keys, numeric(12,2) money, integer quantities. */
static void order_document(gql_buf *out)
{
    gql_buf_puts(out, "{\"id\": 9007199254740993, \"total\": 1234.50, \"status\": \"paid\", "
                      "\"customer\": {\"id\": 42, \"name\": \"Carol Customer\"}, \"lines\": [");
    for (int i = 0; i < 20; i++)
        gql_buf_printf(out,
                       "%s{\"amount\": %d.50, \"product\": {\"id\": %d, \"name\": \"Product %d\", "
                       "\"price\": 24.50}, \"quantity\": %d}",
                       i ? ", " : "", 24 * (i + 1), 1000 + i, i, i + 1);
    gql_buf_puts(out, "]}");
}

typedef cJSON *(*reader_fn)(const char *text, size_t length);

static cJSON *read_cjson(const char *text, size_t length)
{
    return cJSON_ParseWithLength(text, length);
}

typedef struct bench_case {
    const char *name;
    gql_buf text;
    gql_request *request; /* post-by-id over {"post": document}; NULL: parse only */
} bench_case;

static bool run_once(const bench_case *bc, reader_fn reader, gql_buf *out)
{
    cJSON *document = reader(bc->text.data, bc->text.len);
    if (document == NULL)
        return false;
    if (bc->request != NULL) {
        gql_response *response = gql_response_new(bc->request);
        gql_response_set_root(response, 0, document);
        gql_buf_reset(out);
        gql_response_finish(response, out);
        gql_response_free(response);
    }
    cJSON_Delete(document);
    return true;
}

static double rate(const bench_case *bc, reader_fn reader, double seconds, gql_buf *out)
{
    long operations = 0;
    double start = now_seconds(), elapsed;
    do {
        for (int i = 0; i < 200; i++)
            if (!run_once(bc, reader, out)) {
                fprintf(stderr, "bench_documents: %s does not parse\n", bc->name);
                exit(1);
            }
        operations += 200;
        elapsed = now_seconds() - start;
    } while (elapsed < seconds);
    return operations / elapsed;
}

static char *read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    gql_buf text;
    gql_buf_init(&text);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0)
        gql_buf_append(&text, chunk, n);
    fclose(file);
    return text.data;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_documents SCHEMA.graphql POST_BY_ID.graphql [SECONDS]\n");
        return 2;
    }
    double seconds = argc > 3 ? strtod(argv[3], NULL) : 1.0;
    char *sdl = read_file(argv[1]), *query = read_file(argv[2]);
    if (sdl == NULL || query == NULL) {
        fprintf(stderr, "bench_documents: cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    char *error = NULL;
    gql_schema *schema = gql_schema_parse(sdl, strlen(sdl), &error);
    if (schema == NULL) {
        fprintf(stderr, "bench_documents: %s: %s\n", argv[1], error);
        return 1;
    }
    gql_prepared *prepared = gql_prepare(schema, query, strlen(query), NULL, NULL, NULL);
    cJSON *variables = cJSON_Parse("{\"id\": \"20000000-0000-4000-8000-000000000001\"}");
    gql_request *request = prepared ? gql_request_new(prepared, variables, NULL) : NULL;
    if (request == NULL) {
        fprintf(stderr, "bench_documents: %s does not prepare against %s\n", argv[2], argv[1]);
        return 1;
    }
    bench_case cases[3] = {{"post parse", {0}, NULL}, {"order parse", {0}, NULL},
                           {"post complete", {0}, request}};
    post_document(&cases[0].text);
    order_document(&cases[1].text);
    post_document(&cases[2].text);

    gql_buf out;
    gql_buf_init(&out);
    double best[3][2] = {{0}};
    for (int round = 0; round < ROUNDS; round++)
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 2; r++) {
                double v = rate(&cases[c], r ? gql_json_read : read_cjson, seconds / ROUNDS, &out);
                if (v > best[c][r])
                    best[c][r] = v;
            }
    printf("| document | bytes | cJSON_Parse | gql_json_read | ratio |\n|---|---|---|---|---|\n");
    for (int c = 0; c < 3; c++)
        printf("| %s | %zu | %.0f/s | %.0f/s | %.2f |\n", cases[c].name, cases[c].text.len,
               best[c][0], best[c][1], best[c][1] / best[c][0]);
    for (int c = 0; c < 3; c++)
        gql_buf_free(&cases[c].text);
    gql_buf_free(&out);
    cJSON_Delete(variables);
    gql_request_free(request);
    gql_prepared_release(prepared);
    gql_schema_free(schema);
    free(sdl);
    free(query);
    return 0;
}
