/* fuzz_schema_derive: libFuzzer target for server/schema_derive, the SDL the server builds
 * from a file with read-model declarations. Any file either derives SDL or gives one line
 * "<path>:<line>: ...", never a crash, a leak or time beyond linear. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql/gql_arena.h"
#include "server/graphql/graphql.h"
#include "server/schema_derive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy without a terminating NUL: reading past the end is caught. */
    char *source = gql_xmalloc(size == 0 ? 1 : size);
    memcpy(source, data, size);
    gql_buf out;
    gql_buf_init(&out);
    char error[512] = "";
    if (schema_derive(source, size, "f.graphql", &out, error, sizeof error)) {
        /* Derived text is only ever added: the file's own text stays in it. */
        if (out.len < size)
            __builtin_trap();
        char *schema_error = NULL;
        gql_schema *schema = gql_schema_parse(out.data, out.len, &schema_error);
        gql_schema_free(schema);
        free(schema_error);
    } else if (strncmp(error, "f.graphql:", 10) != 0 || strchr(error, '\n') != NULL) {
        __builtin_trap();
    }
    gql_buf_free(&out);
    free(source);
    return 0;
}
