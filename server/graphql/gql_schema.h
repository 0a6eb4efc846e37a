/* gql_schema: internal view of a built schema (the struct behind gql_schema) shared by the
 * engine's modules: type map, meta fields, introspection types, wrapper construction. */
#ifndef TVSYNC_GQL_SCHEMA_H
#define TVSYNC_GQL_SCHEMA_H

#include "server/graphql/graphql.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_map.h"
#include "server/graphql/gql_parser.h"

struct gql_schema {
    gql_arena arena;
    const char *description;
    const gql_type *query;
    const gql_type *mutation;
    const gql_type *subscription;
    gql_type **types; /* graphql-js typeMap order */
    size_t type_count;
    gql_map type_map; /* name -> gql_type, the types of `types` only */
    gql_directive_def **directives;
    size_t directive_count;
    gql_map directive_map;
    /* meta fields, resolved by the engine */
    gql_field schema_field;   /* __schema: __Schema! */
    gql_field type_field;     /* __type(name: String!): __Type */
    gql_field typename_field; /* __typename: String! */
    const gql_type *string_type;
    const gql_type *boolean_type;
    gql_vec owned_json; /* every cJSON value the schema holds, freed with it */
};

/* The LIST or NON_NULL wrapper of `inner`: the interned one when the schema has it, else a
 * new one from `arena` (documents use their own arena; schemas stay immutable). */
const gql_type *gql_type_wrap(gql_arena *arena, gql_type_kind kind, const gql_type *inner);
/* Structural equality (wrappers may live in different arenas). */
bool gql_type_equal(const gql_type *a, const gql_type *b);
/* Resolves an AST type reference; NULL when a named type is unknown. */
const gql_type *gql_type_from_ast(const gql_schema *schema, gql_arena *arena,
                                  const ast_type *type);
bool gql_type_is_input(const gql_type *type);
bool gql_type_is_output(const gql_type *type);
bool gql_type_is_leaf(const gql_type *type);
bool gql_type_is_composite(const gql_type *type);
bool gql_type_is_abstract(const gql_type *type);
/* Field lookup including the meta fields graphql-js's getFieldDef knows (__typename on any
 * composite type; __schema and __type on the query root). */
const gql_field *gql_schema_field_def(const gql_schema *schema, const gql_type *parent,
                                      const char *name);
/* The printed form of a type reference, in `arena`. */
const char *gql_type_string(gql_arena *arena, const gql_type *type);
/* True when `sub` is `super` or a possible type / implementation of it (isSubType). */
bool gql_schema_is_sub_type(const gql_type *super, const gql_type *sub);
/* True when two composite types can share an object type (doTypesOverlap). */
bool gql_types_overlap(const gql_type *a, const gql_type *b);
/* isTypeSubTypeOf(maybeSubType, superType). */
bool gql_type_is_sub_type_of(const gql_type *maybe_sub, const gql_type *super);

#endif
