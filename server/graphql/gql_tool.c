/* gql-tool: command-line front end of the GraphQL engine, used by the differential test
 * against graphql-js (validate, introspect, execute, print-schema). */
#include "config.h"

#include "server/graphql/graphql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: gql-tool validate --schema FILE [--operation NAME] [--variables JSON] < DOC\n"
          "       gql-tool introspect --schema FILE < QUERY\n"
          "       gql-tool execute --schema FILE --root ROOT.json [--operation NAME]"
          " [--variables JSON] < DOC\n"
          "       gql-tool print-schema --schema FILE\n",
          out);
}

static char *read_stream(FILE *in, size_t *length)
{
    size_t cap = 65536, len = 0;
    char *data = malloc(cap);
    if (!data)
        return NULL;
    for (;;) {
        if (len + 4096 > cap) {
            cap *= 2;
            char *n = realloc(data, cap);
            if (!n) {
                free(data);
                return NULL;
            }
            data = n;
        }
        size_t got = fread(data + len, 1, cap - len - 1, in);
        len += got;
        if (got == 0)
            break;
    }
    data[len] = '\0';
    *length = len;
    return data;
}

static char *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "gql-tool: cannot open %s\n", path);
        return NULL;
    }
    char *data = read_stream(f, length);
    fclose(f);
    return data;
}

static void print_buf(gql_buf *b)
{
    fwrite(b->data, 1, b->len, stdout);
    fputc('\n', stdout);
}

static void print_errors(const cJSON *errors, bool with_null_data)
{
    gql_buf b;
    gql_buf_init(&b);
    gql_buf_puts(&b, "{\"errors\":");
    gql_buf_json_value(&b, errors);
    if (with_null_data)
        gql_buf_puts(&b, ",\"data\":null");
    gql_buf_puts(&b, "}");
    print_buf(&b);
    gql_buf_free(&b);
}

/* Errors raised by execution itself (graphql-js answers them with "data": null) rather than
 * by variable coercion. */
static bool is_execution_error(const gql_prepared *p)
{
    const gql_schema *s = gql_prepared_schema(p);
    gql_operation_type op = gql_prepared_operation_type(p);
    if (op == GQL_OPERATION_SUBSCRIPTION)
        return true;
    return op == GQL_OPERATION_MUTATION && !gql_schema_mutation_type(s);
}

int main(int argc, char **argv)
{
    /* the differential test compares with graphql-js: its acceptance of values */
    gql_accept_graphql_js_values(true);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    if (!strcmp(command, "--help") || !strcmp(command, "-h")) {
        usage(stdout);
        return 0;
    }
    const char *schema_path = NULL, *operation = NULL, *variables = NULL, *root_path = NULL;
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--schema"))
            schema_path = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--operation"))
            operation = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--variables"))
            variables = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--root"))
            root_path = argv[++i];
        else {
            fprintf(stderr, "gql-tool: unknown argument %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!schema_path) {
        usage(stderr);
        return 2;
    }
    size_t sdl_length;
    char *sdl = read_file(schema_path, &sdl_length);
    if (!sdl)
        return 1;
    char *error = NULL;
    gql_schema *schema = gql_schema_parse(sdl, sdl_length, &error);
    free(sdl);
    if (!schema) {
        fprintf(stderr, "gql-tool: %s: %s\n", schema_path, error);
        free(error);
        return 1;
    }
    int status = 0;
    gql_buf out;
    gql_buf_init(&out);
    if (!strcmp(command, "print-schema")) {
        gql_schema_print(schema, &out);
        fwrite(out.data, 1, out.len, stdout);
        goto done;
    }
    size_t doc_length;
    char *doc = read_stream(stdin, &doc_length);
    if (!doc) {
        status = 1;
        goto done;
    }
    cJSON *errors = NULL;
    if (!strcmp(command, "validate")) {
        gql_prepared *p = gql_prepare(schema, doc, doc_length, operation, NULL, &errors);
        if (p) {
            errors = cJSON_CreateArray();
            if (!is_execution_error(p)) {
                cJSON *verrors = NULL;
                gql_request *r = gql_request_new_json(p, variables, &verrors);
                if (!r && verrors) {
                    cJSON_Delete(errors);
                    errors = verrors;
                }
                gql_request_free(r);
            }
            gql_prepared_release(p);
        }
        print_errors(errors, false);
        cJSON_Delete(errors);
    } else if (!strcmp(command, "introspect") || !strcmp(command, "execute")) {
        cJSON *root = NULL;
        if (root_path) {
            size_t root_length;
            char *root_text = read_file(root_path, &root_length);
            root = root_text ? cJSON_ParseWithLength(root_text, root_length) : NULL;
            free(root_text);
            if (!root) {
                fprintf(stderr, "gql-tool: %s is not JSON\n", root_path);
                status = 1;
                free(doc);
                goto done;
            }
        }
        gql_prepared *p = gql_prepare(schema, doc, doc_length, operation, NULL, &errors);
        if (!p) {
            print_errors(errors, false);
            cJSON_Delete(errors);
        } else {
            gql_request *r = gql_request_new_json(p, variables, &errors);
            if (!r) {
                const cJSON *m = errors && errors->child
                                     ? cJSON_GetObjectItem(errors->child, "message") : NULL;
                bool execution = cJSON_IsString(m) &&
                                 (!strncmp(m->valuestring, "Schema is not configured", 24) ||
                                  !strncmp(m->valuestring, "Subscription operations", 23));
                print_errors(errors, execution);
                cJSON_Delete(errors);
            } else {
                gql_execute_json(r, root, &out);
                print_buf(&out);
                gql_request_free(r);
            }
            gql_prepared_release(p);
        }
        cJSON_Delete(root);
    } else {
        usage(stderr);
        status = 2;
    }
    free(doc);
done:
    gql_buf_free(&out);
    gql_schema_free(schema);
    return status;
}
