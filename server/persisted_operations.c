/* persisted_operations: loads the allow-list of documents (a JSON object hash -> text) and
 * decides, per request, which document runs or why none does. */
#include <config.h>

#include "server/persisted_operations.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/alloc.h"
#include "common/hex.h"
#include "server/graphql/gql_map.h"

struct persisted_operations {
    cJSON *root;     /* owns every key and text the maps point to */
    gql_map by_hash;
    gql_map by_text;
    size_t count;
};

void persisted_operations_hash(const char *text, size_t length, char out[PERSISTED_HASH_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_Digest(text, length, digest, &digest_length, EVP_sha256(), NULL) != 1)
        abort(); /* only without memory: the one out-of-memory policy */
    hex_encode(out, digest, digest_length < 32 ? digest_length : 32);
}

static char *read_whole_file(const char *path, size_t *length, char *error, size_t error_size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(error, error_size, "server.persisted_operations: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t capacity = 65536, used = 0, got;
    char *data = alloc_malloc(capacity);
    while ((got = fread(data + used, 1, capacity - used - 1, file)) > 0) {
        used += got;
        if (capacity - used < 2)
            data = alloc_realloc(data, capacity *= 2);
    }
    bool failed = ferror(file);
    fclose(file);
    if (failed) {
        snprintf(error, error_size, "server.persisted_operations: cannot read %s", path);
        free(data);
        return NULL;
    }
    data[used] = '\0';
    *length = used;
    return data;
}

persisted_operations *persisted_operations_load(const char *path, char *error, size_t error_size)
{
    size_t length = 0;
    char *text = read_whole_file(path, &length, error, error_size);
    if (text == NULL)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(text, length);
    free(text);
    if (!cJSON_IsObject(root)) {
        snprintf(error, error_size,
                 "server.persisted_operations: %s is not a JSON object {\"<sha256 hex of the document>\": "
                 "\"<document>\", ...}", path);
        cJSON_Delete(root);
        return NULL;
    }
    persisted_operations *operations = alloc_calloc(1, sizeof *operations);
    operations->root = root;
    gql_map_init(&operations->by_hash);
    gql_map_init(&operations->by_text);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root) {
        char hash[PERSISTED_HASH_SIZE] = "";
        if (cJSON_IsString(entry))
            persisted_operations_hash(entry->valuestring, strlen(entry->valuestring), hash);
        if (!cJSON_IsString(entry) || strcmp(hash, entry->string) != 0) {
            snprintf(error, error_size,
                     "server.persisted_operations: in %s, the entry \"%.70s\" %s; each key must be the sha256 "
                     "(64 lowercase hex digits) of the exact text of its document", path, entry->string,
                     cJSON_IsString(entry) ? "is not the sha256 of its document" : "is not a string");
            persisted_operations_free(operations);
            return NULL;
        }
        gql_map_put(&operations->by_hash, entry->string, entry->valuestring);
        gql_map_put(&operations->by_text, entry->valuestring, entry->valuestring);
        operations->count++;
    }
    return operations;
}

void persisted_operations_free(persisted_operations *operations)
{
    if (operations == NULL)
        return;
    gql_map_free(&operations->by_hash);
    gql_map_free(&operations->by_text);
    cJSON_Delete(operations->root);
    free(operations);
}

size_t persisted_operations_count(const persisted_operations *operations)
{
    return operations ? operations->count : 0;
}

/* extensions.persistedQuery.sha256Hash as lowercase hex into hash; false with a message when
 * persistedQuery is there but not of that shape. *named tells whether there was one. */
static bool requested_hash(const cJSON *extensions, char hash[PERSISTED_HASH_SIZE], bool *named, char *message,
                           size_t message_size)
{
    *named = false;
    const cJSON *persisted = cJSON_GetObjectItemCaseSensitive(extensions, "persistedQuery");
    if (persisted == NULL || cJSON_IsNull(persisted))
        return true;
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(persisted, "sha256Hash");
    bool hex = cJSON_IsString(given) && strlen(given->valuestring) == 64;
    for (size_t i = 0; hex && i < 64; i++) {
        hex = isxdigit((unsigned char) given->valuestring[i]);
        hash[i] = (char) tolower((unsigned char) given->valuestring[i]);
    }
    if (!hex) {
        snprintf(message, message_size,
                 "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits: the sha256 "
                 "of the document>\"}.");
        return false;
    }
    hash[64] = '\0';
    *named = true;
    return true;
}

bool persisted_operations_resolve(const persisted_operations *operations, const char *query,
                                  const cJSON *extensions, const char **document, const char **code,
                                  char *message, size_t message_size)
{
    char hash[PERSISTED_HASH_SIZE];
    bool named = false;
    *document = NULL;
    *code = "BAD_REQUEST";
    if (!requested_hash(extensions, hash, &named, message, message_size))
        return false;
    if (query == NULL && !named) {
        snprintf(message, message_size,
                 "The \"query\" parameter is missing; send the document, or its sha256 in "
                 "extensions.persistedQuery.sha256Hash.");
        return false;
    }
    if (query != NULL && named) {
        char computed[PERSISTED_HASH_SIZE];
        persisted_operations_hash(query, strlen(query), computed);
        if (strcmp(computed, hash) != 0) {
            snprintf(message, message_size,
                     "extensions.persistedQuery.sha256Hash is not the sha256 of the query sent (that is %s); "
                     "hash the exact text of the query.", computed);
            return false;
        }
    }
    if (query == NULL) {
        if (operations == NULL) {
            *code = "PERSISTED_QUERY_NOT_SUPPORTED";
            snprintf(message, message_size,
                     "This server keeps no persisted operations (server.persisted_operations is not set): send the "
                     "query with the request.");
            return false;
        }
        *document = gql_map_get(&operations->by_hash, hash);
        if (*document == NULL) {
            *code = "PERSISTED_QUERY_NOT_FOUND";
            snprintf(message, message_size,
                     "No persisted operation has the sha256 %s: this server only runs the documents of its "
                     "server.persisted_operations file; add it there (then SIGHUP), or send a listed one.", hash);
            return false;
        }
        return true;
    }
    if (operations != NULL && gql_map_get(&operations->by_text, query) == NULL) {
        *code = "OPERATION_NOT_ALLOWED";
        snprintf(message, message_size,
                 "This document is not in the server's allow-list of persisted operations "
                 "(server.persisted_operations); only listed documents run, exactly as listed. Add it there "
                 "(then SIGHUP), or send a listed one.");
        return false;
    }
    *document = query;
    return true;
}
