/* Shared helpers of the GraphQL engine's unit tests: a small blog schema and one-call
 * wrappers around prepare / request / execute that return the printed JSON. */
#ifndef TVSYNC_TEST_GRAPHQL_HELPERS_H
#define TVSYNC_TEST_GRAPHQL_HELPERS_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql/graphql.h"

static const char test_blog_sdl[] =
    "\"\"\"Blog\"\"\"\n"
    "directive @table(name: String!) on OBJECT\n"
    "directive @sql(function: String!) on FIELD_DEFINITION\n"
    "scalar UUID\n"
    "enum Order { NEWEST OLDEST OLD @deprecated(reason: \"gone\") }\n"
    "interface Node { id: UUID! }\n"
    "type User implements Node @table(name: \"tv_user\") { id: UUID! name: String! }\n"
    "type Post implements Node @table(name: \"tv_post\") {\n"
    "  id: UUID!\n  title: String!\n  views: Int\n  score: Float\n  author: User!\n"
    "  comments: [Comment!]!\n}\n"
    "type Comment implements Node { id: UUID! body: String }\n"
    "union Result = Post | User\n"
    "input Filter { title: String, ids: [ID!], order: Order = NEWEST }\n"
    "type Query {\n  post(id: UUID!): Post\n  posts(where: Filter, limit: Int = 10): [Post!]!\n"
    "  search(text: String!): [Result!]!\n}\n"
    "type Mutation { createPost(title: String!): Post @sql(function: \"blog.create_post\") }\n";

static inline gql_schema *test_schema(void)
{
    char *error = NULL;
    gql_schema *s = gql_schema_parse(test_blog_sdl, strlen(test_blog_sdl), &error);
    ck_assert_msg(s != NULL, "schema: %s", error ? error : "");
    return s;
}

/* The validation result of `doc` as {"errors":[...]} text (malloc'd). */
static inline char *test_validate(const gql_schema *s, const char *doc)
{
    cJSON *errors = gql_validate_document(s, doc, strlen(doc), NULL, NULL);
    gql_buf b;
    gql_buf_init(&b);
    gql_errors_write_response(errors, &b);
    cJSON_Delete(errors);
    return b.data;
}

/* Executes `doc` with `root_json` as root value; returns the response text (malloc'd). */
static inline char *test_execute(const gql_schema *s, const char *doc, const char *variables,
                                 const char *root_json)
{
    gql_buf b;
    gql_buf_init(&b);
    cJSON *errors = NULL;
    gql_prepared *p = gql_prepare(s, doc, strlen(doc), NULL, NULL, &errors);
    if (!p) {
        gql_errors_write_response(errors, &b);
        cJSON_Delete(errors);
        return b.data;
    }
    gql_request *r = gql_request_new_json(p, variables, &errors);
    if (!r) {
        gql_errors_write_response(errors, &b);
        cJSON_Delete(errors);
        gql_prepared_release(p);
        return b.data;
    }
    cJSON *root = root_json ? cJSON_Parse(root_json) : NULL;
    gql_execute_json(r, root, &b);
    cJSON_Delete(root);
    gql_request_free(r);
    gql_prepared_release(p);
    return b.data;
}

#define ck_assert_json_eq(actual, expected)                                                     \
    do {                                                                                        \
        char *actual_ = (actual);                                                               \
        ck_assert_str_eq(actual_, (expected));                                                  \
        free(actual_);                                                                          \
    } while (0)

#endif
