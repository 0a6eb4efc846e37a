/* gql_json_read: reads JSON text (documents from the database) into cJSON trees whose numbers
 * keep the digits they were written with, and judges such digits exactly (no C double). */
#ifndef TVSYNC_GQL_JSON_READ_H
#define TVSYNC_GQL_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "server/graphql/graphql.h"

/* Parses `length` bytes of JSON (RFC 8259: one value, whitespace around it, a leading byte
 * order mark ignored; the text need not be NUL-terminated). Returns a new tree, owned by the caller and freed with cJSON_Delete, or
 * NULL when the text is not JSON (trailing bytes included), a \u escape is a lone surrogate,
 * or values nest deeper than CJSON_NESTING_LIMIT. Out of memory aborts.
 *
 * The tree is plain cJSON for every reader: a number is a cJSON number (valuedouble as strtod
 * reads it, valueint clamped as cJSON does), and in addition its valuestring holds the
 * number's text exactly as written ("24.50", "9007199254740993", "1e400"), which
 * gql_json_number_text returns and the engine's serializers answer. A U+0000 in a string (the
 * escape \u0000) is carried as the bytes C0 80, as the engine carries it everywhere.
 * A number's or string's text shares its node's allocation (flagged cJSON_IsReference, so
 * cJSON_Delete frees it with the node and cJSON_SetValuestring refuses it): do not change
 * their values in place (cJSON_SetNumberValue would leave the old digits); cJSON_Duplicate
 * of any part is an ordinary, independent copy that keeps the digits. */
cJSON *gql_json_read(const char *text, size_t length);

/* The text of a number read by gql_json_read (valid JSON number syntax); NULL for a number
 * made otherwise (cJSON_CreateNumber: only its double is known) and for any other value. */
static inline const char *gql_json_number_text(const cJSON *value)
{
    return cJSON_IsNumber(value) ? value->valuestring : NULL;
}

/* A new number (free with cJSON_Delete) holding `length` bytes of `text`, which must be a
 * JSON number (a GraphQL IntValue or FloatValue is one), as gql_json_read would have read it:
 * a literal of a custom scalar keeps its digits on its way to SQL. */
cJSON *gql_json_number_new(const char *text, size_t length);

/* What a number's text is worth as a GraphQL Int, decided on its decimal digits. */
typedef enum gql_json_int32 {
    GQL_JSON_INT32,          /* an integer in [-2^31, 2^31 - 1]: *out is its value */
    GQL_JSON_NOT_INTEGER,    /* has a non-zero fraction ("24.50", "1e-400") */
    GQL_JSON_OUT_OF_RANGE,   /* an integer outside 32 bits ("9007199254740993", "1e400") */
} gql_json_int32;

/* Classifies `number_text` (JSON number syntax, as gql_json_number_text returns); linear in
 * its length, no allocation. "1e2" and "100.0" are the integer 100, "-0" is 0. */
gql_json_int32 gql_json_number_int32(const char *number_text, int32_t *out);

/* How many zeros an exponent may add to an integer's digits beyond the text's own length
 * ("1e1000" is 1,001 digits; "1e1000000000" is refused rather than written). */
#define GQL_JSON_INTEGER_MAX_ZEROS 1000

/* Appends the decimal digits of the integer `number_text` denotes ("9007199254740993",
 * "1e2" -> "100", "12.50e1" -> "125", "-0" -> "0") to out and returns true; returns false,
 * appending nothing, when it has a non-zero fraction or would need more than
 * GQL_JSON_INTEGER_MAX_ZEROS zeros beyond its text's length. Linear in what it writes. */
bool gql_json_number_integer_digits(const char *number_text, gql_buf *out);

#endif
