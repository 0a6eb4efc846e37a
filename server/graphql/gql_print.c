/* gql_print: prints a schema as graphql-js's printSchema does (placeholder). */
#include "config.h"

#include "server/graphql/graphql.h"

void gql_schema_print(const gql_schema *schema, gql_buf *out)
{
    gql_buf_puts(out, "");
}
