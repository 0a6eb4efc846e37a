/* persisted_operations: the optional allow-list of GraphQL documents (server.persisted_operations),
 * addressed by the sha256 of their text, and which document a request runs under it. */
#ifndef TVSYNC_SERVER_PERSISTED_OPERATIONS_H
#define TVSYNC_SERVER_PERSISTED_OPERATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define PERSISTED_HASH_SIZE 65 /* 64 lowercase hex digits and a NUL */

typedef struct persisted_operations persisted_operations;

/* Reads path, a JSON object {"<sha256 hex of the document>": "<document>", ...} (the shape
 * graphql-codegen's persisted documents and Relay's persisted queries use). Every key must be
 * the sha256 of its document's exact UTF-8 text. Returns the list (the caller frees it with
 * persisted_operations_free; immutable, so any thread may read it), or NULL with one line
 * naming the file, and the entry when one is wrong, in error[]. Blocking: main thread only. */
persisted_operations *persisted_operations_load(const char *path, char *error, size_t error_size);
void persisted_operations_free(persisted_operations *operations);
size_t persisted_operations_count(const persisted_operations *operations);

/* Writes the sha256 of length bytes of text as 64 lowercase hex digits and a NUL. */
void persisted_operations_hash(const char *text, size_t length, char out[PERSISTED_HASH_SIZE]);

/* Which document a request runs. query: the request's "query" (NULL when absent);
 * extensions: its "extensions" (NULL when absent), where a client may name a document by
 * {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}, with or without the query;
 * operations: the allow-list (NULL: none, any document may run). On success *document is the
 * text to run (query, or the listed document; owned by the caller's query or by operations).
 * Otherwise false with *code (a static string: PERSISTED_QUERY_NOT_FOUND,
 * PERSISTED_QUERY_NOT_SUPPORTED, OPERATION_NOT_ALLOWED or BAD_REQUEST) and a message for the
 * client saying what to send instead. Hashes the query only when the request sends both it
 * and a hash (they must agree); a query alone is looked up by its text. */
bool persisted_operations_resolve(const persisted_operations *operations, const char *query,
                                  const cJSON *extensions, const char **document, const char **code,
                                  char *message, size_t message_size);

#endif
