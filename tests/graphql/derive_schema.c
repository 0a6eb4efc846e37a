/* derive_schema: prints the SDL tvsync-server serves for a schema file (schema_derive.h), so
 * that tools reading plain GraphQL (gql-tool, graphql-js) can take a file with declarations. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "server/schema_derive.h"

/* usage: derive_schema FILE; exit 0 with the SDL on stdout, 1 with the error on stderr. */
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: derive_schema FILE\n");
        return 2;
    }
    FILE *file = fopen(argv[1], "rb");
    if (file == NULL) {
        perror(argv[1]);
        return 1;
    }
    gql_buf text;
    gql_buf_init(&text);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0)
        gql_buf_append(&text, chunk, n);
    fclose(file);
    gql_buf out;
    gql_buf_init(&out);
    char error[1024];
    bool ok = schema_derive(text.data ? text.data : "", text.len, argv[1], &out, error, sizeof error);
    if (ok)
        fwrite(out.data, 1, out.len, stdout);
    else
        fprintf(stderr, "%s\n", error);
    gql_buf_free(&text);
    gql_buf_free(&out);
    return ok ? 0 : 1;
}
