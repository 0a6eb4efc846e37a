/* gql_validate_internal: the validation context and helpers shared by gql_validate.c and
 * the gql_validate_*.c rule modules, private to those files: nothing else includes it. */
#ifndef TVSYNC_GQL_VALIDATE_INTERNAL_H
#define TVSYNC_GQL_VALIDATE_INTERNAL_H

#include "server/graphql/gql_validate.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_errors.h"
#include "server/graphql/gql_map.h"
#include "server/graphql/gql_schema.h"
#include "server/graphql/gql_values.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ERRORS 100
#define MAX_CONFLICT_DETAIL_LENGTH 1000
#define MAX_CONFLICT_NODES 20
#define MAX_COMPLEXITY_BUDGET 500000
#define MAX_FRAGMENT_WORK 50000

typedef struct usage {
    const ast_value *node;
    const gql_type *type;        /* input type at the position, NULL when unknown */
    bool has_location_default;   /* the position has a default value */
    const gql_type *parent_type; /* parent input type */
} usage;

typedef struct usage_list {
    usage *items;
    size_t count;
    size_t cap;
} usage_list;

typedef enum parent_kind { PARENT_OTHER, PARENT_INLINE_FRAGMENT } parent_kind;

typedef struct vctx {
    const gql_schema *schema;
    const ast_document *doc;
    cJSON *errors;
    size_t error_count;
    jmp_buf abort;
    /* NoUnusedFragments' lists live here, not on the stack, so that an
     * error-limit longjmp out of that rule cannot leak them. */
    gql_vec unused_ops, unused_used;
    gql_arena arena;
    bool collecting;        /* pre-pass: only record variable usages */
    gql_vec value_path;     /* argument and input field names down to the value walked */
    usage_list *collect_into;
    gql_map usages_by_def;  /* "%p" of definition -> usage_list* */
    gql_map fragments;      /* name -> last fragment definition (graphql-js getFragment) */
    gql_map defined_types;  /* type names defined in the document */
    long fragment_work;
    long complexity;
    /* rule state */
    gql_map known_operation_names;
    gql_map known_fragment_names;
    size_t operation_count;
    gql_map cycle_visited;
    gql_vec spread_path;
    gql_map spread_path_index;
    /* per operation */
    gql_map var_defined;
    gql_vec var_defs;
    gql_map var_def_map;
    /* OverlappingFieldsCanBeMerged */
    gql_map collect_cache;
    gql_map compared_fragment_pairs;
    gql_vec owned; /* heap blocks to free at the end */
    gql_map doc_directives;     /* directive definitions in the document */
    gql_map seen_by_type;       /* UniqueDirectivesPerLocation across a type's definitions */
    gql_map seen_schema;
} vctx;

/* ------------------------------------------------------------------ gql_validate_context.c
 * Errors are appended to c->errors; reporting past MAX_ERRORS, or spending past a work
 * budget, longjmps to c->abort. Strings returned live in c->arena. */

/* Appends message with the locations of positions[0..count) (nothing while collecting). */
void gql_validate_report(vctx *c, const char *message, const uint32_t *positions,
                         size_t count);
/* vsnprintf into c->arena. */
const char *gql_validate_vfmt(vctx *c, const char *format, va_list ap);
/* graphql-js's didYouMean(sub, suggestionList(input, options)), or "" when nothing is close. */
const char *gql_validate_did_you_mean(vctx *c, const char *sub, const char *input,
                                      const char *const *options, size_t count);
/* For each of `count` items (`stride` bytes apart from items, each with its name as a
 * `const char *` at byte offset name_offset): the index of the first item of the same name.
 * Linear time (a hash map freed before returning: nothing leaks should a later report
 * longjmp); the array lives in c->arena. */
uint32_t *gql_validate_first_same_name(vctx *c, const void *items, size_t count, size_t stride,
                                       size_t name_offset);
/* getFragmentSpreads: the spreads of set pushed to out, in graphql-js's (stack) order. */
void gql_validate_fragment_spreads(vctx *c, const ast_selection_set *set, gql_vec *out);
/* getRecursivelyReferencedFragmentsForOperations: fragment definitions pushed to out. */
void gql_validate_referenced_fragments(vctx *c, const ast_definition *const *ops,
                                       size_t op_count, gql_vec *out);

static inline const char *fmt(vctx *c, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static inline const char *fmt(vctx *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    const char *out = gql_validate_vfmt(c, format, ap);
    va_end(ap);
    return out;
}

static inline void report1(vctx *c, const char *message, uint32_t pos)
{
    gql_validate_report(c, message, &pos, 1);
}

static inline void report2(vctx *c, const char *message, uint32_t a, uint32_t b)
{
    uint32_t p[2] = {a, b};
    gql_validate_report(c, message, p, 2);
}

static inline const char *type_str(vctx *c, const gql_type *t)
{
    return gql_type_string(&c->arena, t);
}

static inline void spend_fragment_work(vctx *c, long cost)
{
    c->fragment_work -= cost;
    if (c->fragment_work < 0 && !c->collecting) {
        gql_error_append(c->errors, "Validation aborted.");
        longjmp(c->abort, 1);
    }
}

static inline void spend_complexity(vctx *c, long cost)
{
    c->complexity -= cost;
    if (c->complexity < 0) {
        gql_error_append(c->errors, "Validation aborted.");
        longjmp(c->abort, 1);
    }
}

static inline const ast_definition *get_fragment(vctx *c, const char *name)
{
    return gql_map_get(&c->fragments, name);
}

static inline const char *ptr_key(vctx *c, const void *a, const void *b)
{
    return fmt(c, "%p:%p", a, b);
}

static inline const gql_type *type_from_ast(vctx *c, const ast_type *t)
{
    return gql_type_from_ast(c->schema, &c->arena, t);
}

static inline const gql_type *named_type(vctx *c, const char *name)
{
    return gql_schema_type(c->schema, name);
}

static inline const gql_type *nullable(const gql_type *t)
{
    return t && t->kind == GQL_KIND_NON_NULL ? t->of_type : t;
}

/* A vector that lives in the context: for one a rule holds while it may report or spend
 * complexity (both longjmp out once a limit is reached, which would leak a local vector).
 * Freeing it early with gql_vec_free is fine. */
static inline gql_vec *scratch_vec(vctx *c)
{
    gql_vec *v = gql_arena_alloc(&c->arena, sizeof(*v));
    gql_vec_push(&c->owned, v);
    return v;
}

static inline void own(vctx *c, gql_vec *v)
{
    /* vectors whose storage must be freed at the end */
    gql_vec *copy = gql_arena_alloc(&c->arena, sizeof(*copy));
    *copy = *v;
    gql_vec_push(&c->owned, copy);
}

/* ------------------------------------------------------------------ gql_validate_overlap.c */

/* OverlappingFieldsCanBeMerged on one selection set of type parent. */
void gql_validate_overlapping_fields(vctx *c, const gql_type *parent,
                                     const ast_selection_set *set);
/* Frees the rule's cache of collected fields (c->collect_cache's values). */
void gql_validate_overlap_free(vctx *c);

/* ------------------------------------------------------------------ gql_validate_values.c
 * KnownTypeNames, KnownDirectives, UniqueDirectivesPerLocation, KnownArgumentNamesOnDirectives,
 * UniqueArgumentNames, ProvidedRequiredArguments on directives, ValuesOfCorrectType,
 * UniqueInputFieldNames; the recording of variable usages. */

void gql_validate_known_type_name(vctx *c, const char *name, uint32_t pos, bool sdl);
void gql_validate_walk_type_ref(vctx *c, const ast_type *t, bool sdl);
void gql_validate_unique_directives_in(vctx *c, const ast_directive *dirs, size_t count,
                                       gql_map *seen);
void gql_validate_unique_directives(vctx *c, const ast_directive *dirs, size_t count);
void gql_validate_unique_arguments(vctx *c, const ast_argument *args, size_t count);
/* The input value named name among values[0..count), or NULL. */
const gql_input_value *gql_validate_find_input_value(const gql_input_value *values,
                                                     size_t count, const char *name);
/* Whether args[0..count) gives the argument named name. */
bool gql_validate_argument_given(const ast_argument *args, size_t count, const char *name);
/* ProvidedRequiredArguments for a field or a directive of the schema: reports at pos each
 * non-null argument of defs without a default that args lacks, naming its owner as
 * `kind "<sigil><name>"` (Field "title", Directive "@include"). */
void gql_validate_required_arguments(vctx *c, const char *kind, const char *sigil, const char *name,
                                     const gql_input_value *defs, size_t def_count,
                                     const ast_argument *args, size_t arg_count, uint32_t pos);
/* The directive rules on dirs at location. */
void gql_validate_walk_directives(vctx *c, const ast_directive *dirs, size_t count,
                                  gql_directive_location location);
/* The value rules on v at a position of input type type (NULL when unknown). */
void gql_validate_walk_value(vctx *c, const ast_value *v, const gql_type *type,
                             const gql_type *parent_type, bool has_default, bool check);

/* ------------------------------------------------------------------ gql_validate_fields.c
 * FieldsOnCorrectType, KnownArgumentNames, ProvidedRequiredArguments on fields, ScalarLeafs,
 * KnownFragmentNames, PossibleFragmentSpreads, FragmentsOnCompositeTypes,
 * UniqueFragmentNames, NoFragmentCycles, MaxIntrospectionDepth. */

void gql_validate_walk_selection_set(vctx *c, const ast_selection_set *set,
                                     const gql_type *type, parent_kind parent);
/* The variable usages recorded for definition d by the collecting pre-pass, or NULL. */
usage_list *gql_validate_usages_of(vctx *c, const ast_definition *d);
void gql_validate_walk_fragment_definition(vctx *c, const ast_definition *d);

#endif
