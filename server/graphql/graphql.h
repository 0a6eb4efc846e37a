/* graphql: the public contract of tvsync's GraphQL engine (no database, no HTTP).
 * Schema from SDL, parse + validate + plan of requests, execution from JSON sources, plan cache. */
#ifndef TVSYNC_GRAPHQL_H
#define TVSYNC_GRAPHQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

/*
 * Overview
 * --------
 *   gql_schema *schema = gql_schema_parse(sdl, len, &msg);        once, shared by all threads
 *   gql_plan_cache *cache = gql_plan_cache_new(schema, 1024, NULL); once, shared by all threads
 *   per request (one thread):
 *     gql_prepared *p = gql_plan_cache_get(cache, doc, len, op_name, &errors);  parse+validate (or hit)
 *     gql_request *r = gql_request_new(p, variables, &errors);      coerce variables, plan
 *     ... resolve each root field (gql_request_fields) to a cJSON value ...
 *     gql_response *resp = gql_response_new(r);
 *     gql_response_set_root(resp, i, value) / gql_response_set_root_error(resp, i, msg);
 *     (gql_response_set_root_error_code(resp, i, msg, "NOT_FOUND"), gql_response_set_extensions)
 *     gql_response_finish(resp, &buf);                               {"data":...,"errors":[...]}
 *     gql_response_free(resp); gql_request_free(r); gql_prepared_release(p);
 *
 * Errors are reported as a cJSON array in graphql-js's shape:
 *   [{"message": "...", "locations": [{"line": 1, "column": 2}], "path": ["a", 0]}]
 * ("locations" and "path" only when known). Whoever receives such an array owns it and frees
 * it with cJSON_Delete. Messages are C strings: a U+0000 quoted from the document is carried
 * as the bytes C0 80, which gql_buf_json_string / gql_buf_json_value print as \u0000 (print
 * errors with them, not with cJSON_Print). Out-of-memory aborts the process (as everywhere in
 * tvsync).
 */

/* ------------------------------------------------------------------ buffer */

/* A growable byte buffer; data is always NUL-terminated (when cap > 0). */
typedef struct gql_buf {
    char *data;
    size_t len;
    size_t cap;
} gql_buf;

void gql_buf_init(gql_buf *buf);
void gql_buf_free(gql_buf *buf);
void gql_buf_reset(gql_buf *buf); /* len = 0, keeps the memory */
void gql_buf_append(gql_buf *buf, const char *bytes, size_t length);
void gql_buf_puts(gql_buf *buf, const char *text);
void gql_buf_printf(gql_buf *buf, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Appends a JSON string literal escaped exactly as JavaScript's JSON.stringify does. */
void gql_buf_json_string(gql_buf *buf, const char *text, size_t length);
/* Appends a number formatted as JavaScript's Number#toString / JSON.stringify ("1e+21", "0.1",
 * non-finite numbers as null). */
void gql_buf_json_number(gql_buf *buf, double value);
/* Appends any cJSON value as JSON.stringify would print it (no spaces, key order kept); a
 * number read by gql_json_read is written with the digits it was read with. */
void gql_buf_json_value(gql_buf *buf, const cJSON *value);

/* ------------------------------------------------------------------ limits */

typedef struct gql_limits {
    size_t max_document_bytes; /* longer documents are refused before lexing */
    size_t max_tokens;         /* documents with more tokens are refused while parsing */
    unsigned max_depth;        /* nesting of selection sets, values and list types */
} gql_limits;

/* The engine refuses values graphql-js accepts but PostgreSQL cannot take as meant: U+0000
 * in a string value ("a\u0000b": text cannot store it) and DateTime values that are not
 * RFC 3339 date-times (they would be compared as text). gql-tool, which the differential
 * test compares with graphql-js, accepts them as graphql-js does: call once, before any
 * other engine call (process-wide, not synchronized). */
void gql_accept_graphql_js_values(bool accept);

#define GQL_DEFAULT_MAX_DOCUMENT_BYTES ((size_t)1 << 20)
#define GQL_DEFAULT_MAX_TOKENS ((size_t)100000)
#define GQL_DEFAULT_MAX_DEPTH 64u

/* Fills in the defaults above. Any function taking `const gql_limits *` accepts NULL for them. */
void gql_limits_default(gql_limits *limits);

/* ------------------------------------------------------------------ schema */

typedef struct gql_location {
    unsigned line;   /* 1-based, as graphql-js counts */
    unsigned column; /* 1-based, in UTF-16 code units, as graphql-js counts */
} gql_location;

typedef enum gql_type_kind {
    GQL_KIND_SCALAR,
    GQL_KIND_OBJECT,
    GQL_KIND_INTERFACE,
    GQL_KIND_UNION,
    GQL_KIND_ENUM,
    GQL_KIND_INPUT_OBJECT,
    GQL_KIND_LIST,
    GQL_KIND_NON_NULL,
} gql_type_kind;

typedef struct gql_type gql_type;

/* A directive applied in the SDL: `@table(name: "tv_post")`. `arguments` is a cJSON object
 * holding the literal argument values as JSON (enum values become strings, variables are not
 * allowed in SDL), in source order; never NULL. */
typedef struct gql_directive_use {
    const char *name;
    cJSON *arguments;
    gql_location location;
} gql_directive_use;

/* An argument of a field or directive, or a field of an input object. */
typedef struct gql_input_value {
    const char *name;
    const char *description;        /* NULL when none */
    const gql_type *type;
    cJSON *default_value;           /* coerced default value, NULL when none */
    const char *deprecation_reason; /* NULL unless @deprecated */
    gql_directive_use *directives;
    size_t directive_count;
    gql_location location;
} gql_input_value;

typedef struct gql_field {
    const char *name;
    const char *description;
    const gql_type *type;
    gql_input_value *arguments;
    size_t argument_count;
    const char *deprecation_reason;
    gql_directive_use *directives;
    size_t directive_count;
    gql_location location;
} gql_field;

typedef struct gql_enum_value {
    const char *name;
    const char *description;
    const char *deprecation_reason;
    gql_directive_use *directives;
    size_t directive_count;
    gql_location location;
} gql_enum_value;

/* A type: named (name != NULL) or a wrapper (LIST / NON_NULL around of_type). Wrappers are
 * interned, so two types are equal exactly when their pointers are. Read-only. */
struct gql_type {
    gql_type_kind kind;
    const char *name;
    const char *description;
    const gql_type *of_type;              /* LIST, NON_NULL */
    gql_field *fields;                    /* OBJECT, INTERFACE (declaration order) */
    size_t field_count;
    const gql_type **interfaces;          /* OBJECT, INTERFACE */
    size_t interface_count;
    const gql_type **possible_types;      /* UNION members; INTERFACE implementations */
    size_t possible_type_count;
    gql_enum_value *enum_values;          /* ENUM */
    size_t enum_value_count;
    gql_input_value *input_fields;        /* INPUT_OBJECT */
    size_t input_field_count;
    const char *specified_by_url;         /* SCALAR with @specifiedBy */
    gql_directive_use *directives;        /* custom and built-in directives applied to the type */
    size_t directive_count;
    gql_location location;
    bool builtin;                         /* Int, Float, String, Boolean, ID, __Schema, ... */
    /* engine-private */
    gql_type *list_of_this;
    gql_type *non_null_of_this;
};

typedef enum gql_directive_location {
    GQL_DL_QUERY = 1u << 0,
    GQL_DL_MUTATION = 1u << 1,
    GQL_DL_SUBSCRIPTION = 1u << 2,
    GQL_DL_FIELD = 1u << 3,
    GQL_DL_FRAGMENT_DEFINITION = 1u << 4,
    GQL_DL_FRAGMENT_SPREAD = 1u << 5,
    GQL_DL_INLINE_FRAGMENT = 1u << 6,
    GQL_DL_VARIABLE_DEFINITION = 1u << 7,
    GQL_DL_SCHEMA = 1u << 8,
    GQL_DL_SCALAR = 1u << 9,
    GQL_DL_OBJECT = 1u << 10,
    GQL_DL_FIELD_DEFINITION = 1u << 11,
    GQL_DL_ARGUMENT_DEFINITION = 1u << 12,
    GQL_DL_INTERFACE = 1u << 13,
    GQL_DL_UNION = 1u << 14,
    GQL_DL_ENUM = 1u << 15,
    GQL_DL_ENUM_VALUE = 1u << 16,
    GQL_DL_INPUT_OBJECT = 1u << 17,
    GQL_DL_INPUT_FIELD_DEFINITION = 1u << 18,
    GQL_DL_DIRECTIVE_DEFINITION = 1u << 19,
} gql_directive_location;

/* A directive definition (built-in @skip, @include, @deprecated, @specifiedBy, or SDL). */
typedef struct gql_directive_def {
    const char *name;
    const char *description;
    gql_input_value *arguments;
    size_t argument_count;
    unsigned locations; /* gql_directive_location bits */
    const unsigned *location_order; /* the same bits, in declaration order */
    size_t location_count;
    bool repeatable;
    bool builtin;
    gql_location location;
} gql_directive_def;

typedef struct gql_schema gql_schema;

/* Builds a schema from SDL text (type, input, enum, scalar, interface, union, directive,
 * schema definitions and `extend` of them). Root types come from a `schema {}` definition or
 * the types named Query / Mutation / Subscription. Returns NULL on any syntax or schema error,
 * with *error (malloc'd, caller frees; may be NULL to ignore) set to
 * "line L, column C: <message>". The schema is immutable and safe to share between threads. */
gql_schema *gql_schema_parse(const char *sdl, size_t length, char **error);
void gql_schema_free(gql_schema *schema);

const char *gql_schema_description(const gql_schema *schema);
const gql_type *gql_schema_query_type(const gql_schema *schema);
const gql_type *gql_schema_mutation_type(const gql_schema *schema);     /* NULL when none */
const gql_type *gql_schema_subscription_type(const gql_schema *schema); /* NULL when none */
/* Named type lookup (built-ins included); NULL when unknown. */
const gql_type *gql_schema_type(const gql_schema *schema, const char *name);
/* Named types in the order graphql-js's GraphQLSchema lists them (roots first, then as they are
 * reached, then the rest), introspection types included. */
size_t gql_schema_type_count(const gql_schema *schema);
const gql_type *gql_schema_type_at(const gql_schema *schema, size_t index);
size_t gql_schema_directive_count(const gql_schema *schema);
const gql_directive_def *gql_schema_directive_at(const gql_schema *schema, size_t index);
const gql_directive_def *gql_schema_directive(const gql_schema *schema, const char *name);
/* Writes the schema as graphql-js's printSchema would. */
void gql_schema_print(const gql_schema *schema, gql_buf *out);

/* Strips LIST and NON_NULL wrappers. */
const gql_type *gql_type_named(const gql_type *type);
/* Field of an OBJECT or INTERFACE type by name; NULL when none. */
const gql_field *gql_type_field(const gql_type *type, const char *name);
/* Argument of a field by name; NULL when none. */
const gql_input_value *gql_field_argument(const gql_field *field, const char *name);
/* First applied directive with that name among `uses`; NULL when none. */
const gql_directive_use *gql_directive_find(const gql_directive_use *uses, size_t count,
                                            const char *name);
/* String argument of an applied directive; NULL when absent or not a string. */
const char *gql_directive_string_arg(const gql_directive_use *use, const char *argument);
/* Writes a type reference as GraphQL prints it: "[Post!]!". */
void gql_type_print(const gql_type *type, gql_buf *out);
/* True when an OBJECT type is a possible runtime type of `abstract` (or equal to it). */
bool gql_type_is_possible(const gql_type *abstract, const gql_type *object);

/* ------------------------------------------------------------------ prepared documents */

typedef enum gql_operation_type {
    GQL_OPERATION_QUERY,
    GQL_OPERATION_MUTATION,
    GQL_OPERATION_SUBSCRIPTION,
} gql_operation_type;

/* A parsed, validated document with its operation selected: immutable, reference-counted,
 * shareable between threads. */
typedef struct gql_prepared gql_prepared;

/* Lexes, parses, validates (graphql-js 16's specified rules) and selects the operation named
 * `operation_name` (NULL or "" = the only one). Returns NULL and sets *errors (owned by the
 * caller) on a syntax error, a limit exceeded, validation errors, or an ambiguous / unknown
 * operation name. A subscription operation is prepared (it is valid GraphQL); gql_request_new
 * refuses it. The returned object has one reference. */
gql_prepared *gql_prepare(const gql_schema *schema, const char *document, size_t length,
                          const char *operation_name, const gql_limits *limits, cJSON **errors);
/* Validation only, for tools: returns every syntax / validation / selection error as an array
 * (empty when the document is valid). Never NULL. */
cJSON *gql_validate_document(const gql_schema *schema, const char *document, size_t length,
                             const char *operation_name, const gql_limits *limits);
gql_prepared *gql_prepared_ref(gql_prepared *prepared);
/* Drops a reference. Releases are applied lazily per thread (so that a thread serving the same
 * document request after request does no atomic operation): a document whose last reference
 * is gone is freed once the releasing thread releases another document, or exits; at most one
 * document per thread waits that way. References may be taken and dropped in any thread. */
void gql_prepared_release(gql_prepared *prepared);
gql_operation_type gql_prepared_operation_type(const gql_prepared *prepared);
const char *gql_prepared_operation_name(const gql_prepared *prepared); /* NULL when anonymous */
const gql_schema *gql_prepared_schema(const gql_prepared *prepared);

/* ------------------------------------------------------------------ plan cache */

/* A bounded LRU of prepared documents keyed by (document text, operation name); thread-safe.
 * Only successfully prepared documents are cached. */
typedef struct gql_plan_cache gql_plan_cache;

gql_plan_cache *gql_plan_cache_new(const gql_schema *schema, size_t capacity,
                                   const gql_limits *limits);
void gql_plan_cache_free(gql_plan_cache *cache);
/* Like gql_prepare, from the cache when possible. Returns a new reference (release it).
 * *hit (may be NULL) tells whether lexing, parsing and validation were skipped. */
gql_prepared *gql_plan_cache_get(gql_plan_cache *cache, const char *document, size_t length,
                                 const char *operation_name, cJSON **errors, bool *hit);
typedef struct gql_plan_cache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions;
    size_t entries;
    size_t capacity;
} gql_plan_cache_stats;
void gql_plan_cache_get_stats(gql_plan_cache *cache, gql_plan_cache_stats *stats);

/* ------------------------------------------------------------------ requests and plans */

typedef enum gql_field_kind {
    GQL_FIELD_NORMAL,   /* a field of the schema: `definition` is set */
    GQL_FIELD_TYPENAME, /* __typename (resolved by the engine) */
    GQL_FIELD_SCHEMA,   /* __schema (resolved by the engine) */
    GQL_FIELD_TYPE,     /* __type(name:) (resolved by the engine) */
} gql_field_kind;

typedef struct gql_plan_field gql_plan_field;

/* The fields selected on one concrete object type, collected in selection order (fragments
 * merged, @skip/@include applied, one entry per response key). */
typedef struct gql_plan_selection {
    const gql_type *object_type;
    const gql_plan_field *fields;
    size_t field_count;
} gql_plan_selection;

struct gql_plan_field {
    const char *response_key; /* alias or field name */
    const char *name;         /* field name */
    gql_field_kind kind;
    const gql_field *definition;  /* NULL for __typename */
    const gql_type *parent_type;  /* object type the field is selected on */
    const gql_type *return_type;  /* with wrappers */
    gql_location location;        /* of the first field node */
    /* When the named return type is composite: one selection per possible concrete object
     * type (exactly one for an OBJECT return type), in gql_schema type order. */
    const gql_plan_selection *selections;
    size_t selection_count;
    size_t index; /* engine-private */
};

typedef struct gql_request gql_request;

/* Coerces `variables` (a JSON object or NULL) against the operation's variable definitions
 * (defaults, non-null, list promotion, Int range, enums, input objects) and collects the root
 * fields. Returns NULL with *errors set (graphql-js wording) when coercion fails or the
 * operation is a subscription. Takes its own reference on `prepared`; keeps nothing of
 * `variables`; the request is used by one thread at a time (any thread may free it).
 * Cost: with a plan that needs no per-request field collection (no @skip/@include on a
 * variable) and up to 32 scalar, enum or custom-scalar variables of plainly valid values, a
 * request is one allocation (reused per thread) and no other; anything else (lists, input
 * objects, values to convert or refuse) takes the general path with the same results. */
gql_request *gql_request_new(gql_prepared *prepared, const cJSON *variables, cJSON **errors);
/* Same, variables given as JSON text (NULL or empty = none). */
gql_request *gql_request_new_json(gql_prepared *prepared, const char *variables_json,
                                  cJSON **errors);
void gql_request_free(gql_request *request);
gql_operation_type gql_request_operation_type(const gql_request *request);
const gql_type *gql_request_root_type(const gql_request *request);
/* The root fields, in selection order. */
const gql_plan_field *gql_request_fields(const gql_request *request, size_t *count);
/* The coerced arguments of a plan field as a JSON object (defaults applied, variables
 * substituted, absent optional arguments omitted); owned by the request. Returns NULL and sets
 * *error (malloc'd, may be NULL to ignore) when a runtime value breaks the argument's type
 * (e.g. a null variable for a non-null argument): then do not resolve the field, call
 * gql_response_set_root(response, index, NULL) and the response reports that error located
 * and worded as graphql-js does. */
const cJSON *gql_request_arguments(gql_request *request, const gql_plan_field *field,
                                   char **error);
/* The coerced variable values (a JSON object owned by the request). */
const cJSON *gql_request_variables(const gql_request *request);

/* ------------------------------------------------------------------ execution */

typedef struct gql_response gql_response;

gql_response *gql_response_new(gql_request *request);
void gql_response_free(gql_response *response);
/* Completes root field number `index` (of gql_request_fields) from `value` (not retained; NULL
 * means null) as graphql-js's default resolver would: properties by field name, aliases,
 * __typename, lists, enums, scalar serialization and its errors, abstract types resolved from
 * a "__typename" property, null propagation with error paths. Introspection fields are
 * resolved by the engine: pass NULL for them. Root fields may be set in any order; mutations
 * set them in order. A number read by gql_json_read (gql_json_read.h) is answered with the
 * digits it was read with, never through a double: as a JSON number for Float and custom
 * scalars ("24.50"), as a string for ID and String ("9007199254740993"), and for Int when
 * those digits are a 32-bit integer (else a field error, as the spec requires). */
void gql_response_set_root(gql_response *response, size_t index, const cJSON *value);
/* Records that resolving root field `index` failed with `message` (graphql-js: the field is
 * null and the error carries its location and path). */
void gql_response_set_root_error(gql_response *response, size_t index, const char *message);
/* Like gql_response_set_root_error, and the error carries `extensions` (a JSON object, copied;
 * NULL = none) as its "extensions" entry, after "message", "locations" and "path" as
 * graphql-js's GraphQLError.toJSON orders them: {"extensions": {"code": "NOT_FOUND"}}. */
void gql_response_set_root_error_extensions(gql_response *response, size_t index,
                                            const char *message, const cJSON *extensions);
/* Shorthand for the usual case: extensions {"code": code} (code NULL = none). */
void gql_response_set_root_error_code(gql_response *response, size_t index,
                                      const char *message, const char *code);
/* Response-level extensions (a JSON object, copied; replaces earlier ones; NULL removes them),
 * written by gql_response_finish as the last entry: {"data":...,"extensions":{...}}. */
void gql_response_set_extensions(gql_response *response, const cJSON *extensions);
/* True once a non-null root field has failed: "data" will be null. graphql-js executes no
 * further root fields then (mutations: stop running them). */
bool gql_response_failed(const gql_response *response);
/* Writes {"data":{...}} or {"errors":[...],"data":...} exactly as JSON.stringify prints
 * graphql-js's graphql() result (errors first when there are any), then "extensions" when
 * gql_response_set_extensions gave some. Root fields never set
 * complete as null (an error for a non-null field); introspection root fields are resolved
 * here when not set. Root fields after the first failed non-null one are left out of the
 * errors, as graphql-js never executes them. */
void gql_response_finish(gql_response *response, gql_buf *out);

/* Convenience: resolves every root field from the properties of `root_value` (a JSON object)
 * and writes the whole response, as graphql-js's graphql({rootValue}) would. */
void gql_execute_json(gql_request *request, const cJSON *root_value, gql_buf *out);

/* Writes {"errors":[...]} for errors raised before execution (syntax, validation, variables). */
void gql_errors_write_response(const cJSON *errors, gql_buf *out);

#endif
