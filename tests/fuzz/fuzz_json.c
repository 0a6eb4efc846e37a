/* fuzz_json: libFuzzer target for gql_json_read (server/graphql/gql_json_read.c), the reader of
 * tv_* documents and request bodies. Any byte string either is refused or reads into a tree
 * that the engine's writer prints as JSON reading back to the same text (numbers' digits
 * kept); never a crash, a leak or a time beyond linear. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql/graphql.h"
#include "server/graphql/gql_json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Judges every number the way serialization does, and checks its text is JSON's. */
static void visit_numbers(const cJSON *value)
{
    for (; value != NULL; value = value->next) {
        const char *text = gql_json_number_text(value);
        if (text != NULL) {
            int32_t out;
            gql_json_number_int32(text, &out);
            gql_buf digits;
            gql_buf_init(&digits);
            gql_json_number_integer_digits(text, &digits);
            gql_buf_free(&digits);
            cJSON *copy = gql_json_number_new(text, strlen(text));
            if (strcmp(gql_json_number_text(copy), text) != 0)
                __builtin_trap();
            cJSON_Delete(copy);
        }
        visit_numbers(value->child);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *value = gql_json_read((const char *)data, size);
    if (value == NULL)
        return 0;
    visit_numbers(value);
    gql_buf first;
    gql_buf_init(&first);
    gql_buf_json_value(&first, value);
    cJSON *again = gql_json_read(first.data, first.len);
    if (again == NULL)
        __builtin_trap(); /* the writer wrote something the reader refuses */
    gql_buf second;
    gql_buf_init(&second);
    gql_buf_json_value(&second, again);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        __builtin_trap();
    cJSON *copy = cJSON_Duplicate(value, true);
    cJSON_Delete(value);
    gql_buf_reset(&second);
    gql_buf_json_value(&second, copy);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        __builtin_trap(); /* a copy must not depend on the original's memory */
    cJSON_Delete(copy);
    cJSON_Delete(again);
    gql_buf_free(&first);
    gql_buf_free(&second);
    return 0;
}
