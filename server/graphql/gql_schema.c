/* gql_schema: builds an immutable schema from SDL (buildASTSchema semantics: extensions merged,
 * built-in scalars/directives/introspection types added, graphql-js's type order kept). */
#include "config.h"

#include "server/graphql/gql_schema.h"
#include "server/graphql/gql_values.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/graphql/gql_builtin_sdl.h"

/* ------------------------------------------------------------------ type helpers */

const gql_type *gql_type_wrap(gql_arena *arena, gql_type_kind kind, const gql_type *inner)
{
    gql_type *existing = kind == GQL_KIND_LIST ? inner->list_of_this : inner->non_null_of_this;
    if (existing)
        return existing;
    gql_type *t = gql_arena_alloc(arena, sizeof(*t));
    t->kind = kind;
    t->of_type = inner;
    return t;
}

/* Interning version used while building (the schema arena owns the wrappers). */
static const gql_type *schema_wrap(gql_schema *schema, gql_type_kind kind, const gql_type *inner)
{
    gql_type *in = (gql_type *)inner;
    gql_type **slot = kind == GQL_KIND_LIST ? &in->list_of_this : &in->non_null_of_this;
    if (!*slot) {
        gql_type *t = gql_arena_alloc(&schema->arena, sizeof(*t));
        t->kind = kind;
        t->of_type = inner;
        *slot = t;
    }
    return *slot;
}

bool gql_type_equal(const gql_type *a, const gql_type *b)
{
    while (a && b) {
        if (a == b)
            return true;
        if (a->kind != b->kind || a->name || b->name)
            return false;
        a = a->of_type;
        b = b->of_type;
    }
    return a == b;
}

const gql_type *gql_type_named(const gql_type *type)
{
    while (type && type->of_type)
        type = type->of_type;
    return type;
}

bool gql_type_is_input(const gql_type *type)
{
    type = gql_type_named(type);
    return type && (type->kind == GQL_KIND_SCALAR || type->kind == GQL_KIND_ENUM ||
                    type->kind == GQL_KIND_INPUT_OBJECT);
}

bool gql_type_is_output(const gql_type *type)
{
    type = gql_type_named(type);
    return type && type->kind != GQL_KIND_INPUT_OBJECT;
}

bool gql_type_is_leaf(const gql_type *type)
{
    return type && (type->kind == GQL_KIND_SCALAR || type->kind == GQL_KIND_ENUM);
}

bool gql_type_is_composite(const gql_type *type)
{
    return type && (type->kind == GQL_KIND_OBJECT || type->kind == GQL_KIND_INTERFACE ||
                    type->kind == GQL_KIND_UNION);
}

bool gql_type_is_abstract(const gql_type *type)
{
    return type && (type->kind == GQL_KIND_INTERFACE || type->kind == GQL_KIND_UNION);
}

void gql_type_print(const gql_type *type, gql_buf *out)
{
    if (type->kind == GQL_KIND_LIST) {
        gql_buf_puts(out, "[");
        gql_type_print(type->of_type, out);
        gql_buf_puts(out, "]");
    } else if (type->kind == GQL_KIND_NON_NULL) {
        gql_type_print(type->of_type, out);
        gql_buf_puts(out, "!");
    } else {
        gql_buf_puts(out, type->name);
    }
}

const char *gql_type_string(gql_arena *arena, const gql_type *type)
{
    gql_buf b;
    gql_buf_init(&b);
    gql_type_print(type, &b);
    const char *s = gql_arena_strndup(arena, b.data, b.len);
    gql_buf_free(&b);
    return s;
}

const gql_field *gql_type_field(const gql_type *type, const char *name)
{
    if (!type || (type->kind != GQL_KIND_OBJECT && type->kind != GQL_KIND_INTERFACE))
        return NULL;
    for (size_t i = 0; i < type->field_count; i++)
        if (strcmp(type->fields[i].name, name) == 0)
            return &type->fields[i];
    return NULL;
}

const gql_input_value *gql_field_argument(const gql_field *field, const char *name)
{
    for (size_t i = 0; i < field->argument_count; i++)
        if (strcmp(field->arguments[i].name, name) == 0)
            return &field->arguments[i];
    return NULL;
}

const gql_directive_use *gql_directive_find(const gql_directive_use *uses, size_t count,
                                            const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(uses[i].name, name) == 0)
            return &uses[i];
    return NULL;
}

const char *gql_directive_string_arg(const gql_directive_use *use, const char *argument)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(use->arguments, argument);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool gql_type_is_possible(const gql_type *abstract, const gql_type *object)
{
    if (abstract == object)
        return true;
    for (size_t i = 0; i < abstract->possible_type_count; i++)
        if (abstract->possible_types[i] == object)
            return true;
    return false;
}

bool gql_schema_is_sub_type(const gql_type *super, const gql_type *sub)
{
    if (super == sub)
        return true;
    if (super->kind == GQL_KIND_UNION)
        return gql_type_is_possible(super, sub);
    if (super->kind == GQL_KIND_INTERFACE) {
        if (gql_type_is_possible(super, sub))
            return true;
        /* interfaces implementing the interface */
        for (size_t i = 0; i < sub->interface_count; i++)
            if (sub->interfaces[i] == super)
                return true;
    }
    return false;
}

bool gql_types_overlap(const gql_type *a, const gql_type *b)
{
    if (a == b)
        return true;
    if (gql_type_is_abstract(a)) {
        if (gql_type_is_abstract(b)) {
            for (size_t i = 0; i < a->possible_type_count; i++)
                if (gql_type_is_possible(b, a->possible_types[i]))
                    return true;
            return false;
        }
        return gql_type_is_possible(a, b);
    }
    if (gql_type_is_abstract(b))
        return gql_type_is_possible(b, a);
    return false;
}

bool gql_type_is_sub_type_of(const gql_type *maybe_sub, const gql_type *super)
{
    if (gql_type_equal(maybe_sub, super))
        return true;
    if (super->kind == GQL_KIND_NON_NULL) {
        if (maybe_sub->kind == GQL_KIND_NON_NULL)
            return gql_type_is_sub_type_of(maybe_sub->of_type, super->of_type);
        return false;
    }
    if (maybe_sub->kind == GQL_KIND_NON_NULL)
        return gql_type_is_sub_type_of(maybe_sub->of_type, super);
    if (super->kind == GQL_KIND_LIST) {
        if (maybe_sub->kind == GQL_KIND_LIST)
            return gql_type_is_sub_type_of(maybe_sub->of_type, super->of_type);
        return false;
    }
    if (maybe_sub->kind == GQL_KIND_LIST)
        return false;
    return gql_type_is_abstract(super) &&
           (maybe_sub->kind == GQL_KIND_INTERFACE || maybe_sub->kind == GQL_KIND_OBJECT) &&
           gql_schema_is_sub_type(super, maybe_sub);
}

const gql_field *gql_schema_field_def(const gql_schema *schema, const gql_type *parent,
                                      const char *name)
{
    if (name[0] == '_' && name[1] == '_') {
        if (strcmp(name, "__schema") == 0 && parent == schema->query)
            return &schema->schema_field;
        if (strcmp(name, "__type") == 0 && parent == schema->query)
            return &schema->type_field;
        if (strcmp(name, "__typename") == 0 && gql_type_is_composite(parent))
            return &schema->typename_field;
    }
    return gql_type_field(parent, name);
}

const gql_type *gql_type_from_ast(const gql_schema *schema, gql_arena *arena,
                                  const ast_type *type)
{
    if (type->kind == AST_TYPE_NAMED)
        return gql_map_get(&schema->type_map, type->name);
    const gql_type *inner = gql_type_from_ast(schema, arena, type->inner);
    if (!inner)
        return NULL;
    return gql_type_wrap(arena, type->kind == AST_TYPE_LIST ? GQL_KIND_LIST : GQL_KIND_NON_NULL,
                         inner);
}

/* ------------------------------------------------------------------ public accessors */

const char *gql_schema_description(const gql_schema *schema) { return schema->description; }
const gql_type *gql_schema_query_type(const gql_schema *schema) { return schema->query; }
const gql_type *gql_schema_mutation_type(const gql_schema *schema) { return schema->mutation; }
const gql_type *gql_schema_subscription_type(const gql_schema *schema)
{
    return schema->subscription;
}
const gql_type *gql_schema_type(const gql_schema *schema, const char *name)
{
    return gql_map_get(&schema->type_map, name);
}
size_t gql_schema_type_count(const gql_schema *schema) { return schema->type_count; }
const gql_type *gql_schema_type_at(const gql_schema *schema, size_t index)
{
    return index < schema->type_count ? schema->types[index] : NULL;
}
size_t gql_schema_directive_count(const gql_schema *schema) { return schema->directive_count; }
const gql_directive_def *gql_schema_directive_at(const gql_schema *schema, size_t index)
{
    return index < schema->directive_count ? schema->directives[index] : NULL;
}
const gql_directive_def *gql_schema_directive(const gql_schema *schema, const char *name)
{
    return gql_map_get(&schema->directive_map, name);
}

void gql_schema_free(gql_schema *schema)
{
    if (!schema)
        return;
    for (size_t i = 0; i < schema->owned_json.count; i++)
        cJSON_Delete(schema->owned_json.items[i]);
    gql_vec_free(&schema->owned_json);
    gql_map_free(&schema->type_map);
    gql_map_free(&schema->directive_map);
    gql_arena_free(&schema->arena);
    free(schema);
}

/* ------------------------------------------------------------------ builder */

typedef struct builder {
    gql_schema *schema;
    gql_map all_types;     /* every named type, referenced or not */
    gql_map all_directives;
    gql_vec sdl_types;     /* gql_type* defined by the user SDL, in document order */
    gql_vec directive_defs;
    char *error;
    const char *source; /* source of the definitions being processed, for locations */
    size_t source_length;
} builder;

static bool fail_at(builder *b, uint32_t pos, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail_at(builder *b, uint32_t pos, const char *format, ...)
{
    if (b->error)
        return false;
    gql_location loc = gql_source_location(b->source, b->source_length, pos);
    char message[600];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof(message), format, ap);
    va_end(ap);
    size_t n = strlen(message) + 64;
    b->error = gql_xmalloc(n);
    snprintf(b->error, n, "line %u, column %u: %s", loc.line, loc.column, message);
    return false;
}

static const gql_type *resolve_type(builder *b, const ast_type *t)
{
    if (t->kind == AST_TYPE_NAMED) {
        const gql_type *named = gql_map_get(&b->all_types, t->name);
        if (!named)
            fail_at(b, t->pos, "Unknown type \"%s\".", t->name);
        return named;
    }
    const gql_type *inner = resolve_type(b, t->inner);
    if (!inner)
        return NULL;
    return schema_wrap(b->schema, t->kind == AST_TYPE_LIST ? GQL_KIND_LIST : GQL_KIND_NON_NULL,
                       inner);
}

static void build_directive_uses(builder *b, const ast_directive *in, size_t count,
                                 gql_directive_use **out, size_t *out_count)
{
    *out_count = count;
    *out = count ? gql_arena_alloc(&b->schema->arena, count * sizeof(gql_directive_use)) : NULL;
    for (size_t i = 0; i < count; i++) {
        gql_directive_use *u = &(*out)[i];
        u->name = gql_arena_strdup(&b->schema->arena, in[i].name);
        u->location = gql_source_location(b->source, b->source_length, in[i].pos);
        u->arguments = cJSON_CreateObject();
        gql_vec_push(&b->schema->owned_json, u->arguments);
        for (size_t a = 0; a < in[i].argument_count; a++) {
            cJSON *v = gql_value_from_ast_untyped(in[i].arguments[a].value, NULL);
            cJSON_AddItemToObject(u->arguments, in[i].arguments[a].name,
                                  v ? v : cJSON_CreateNull());
        }
        if (!gql_map_get(&b->all_directives, in[i].name))
            fail_at(b, in[i].pos, "Unknown directive \"@%s\".", in[i].name);
    }
}

static const char *deprecation_of(builder *b, const gql_directive_use *uses, size_t count)
{
    const gql_directive_use *d = gql_directive_find(uses, count, "deprecated");
    if (!d)
        return NULL;
    const char *reason = gql_directive_string_arg(d, "reason");
    return gql_arena_strdup(&b->schema->arena, reason ? reason : "No longer supported");
}

static const char *arena_str(builder *b, const char *s)
{
    return s ? gql_arena_strdup(&b->schema->arena, s) : NULL;
}

typedef struct pending_default {
    gql_input_value *target;
    const ast_value *literal;
    const char *source;
    size_t source_length;
} pending_default;

static void build_input_values(builder *b, const ast_input_value_def *in, size_t count,
                               gql_input_value **out, size_t *out_count, gql_vec *defaults)
{
    *out_count = count;
    *out = count ? gql_arena_alloc(&b->schema->arena, count * sizeof(gql_input_value)) : NULL;
    for (size_t i = 0; i < count; i++) {
        gql_input_value *v = &(*out)[i];
        v->name = arena_str(b, in[i].name);
        v->description = arena_str(b, in[i].description);
        v->type = resolve_type(b, in[i].type);
        if (v->type && !gql_type_is_input(v->type))
            fail_at(b, in[i].type->pos, "The type of \"%s\" must be Input Type but got: %s.",
                    in[i].name, gql_type_string(&b->schema->arena, v->type));
        v->location = gql_source_location(b->source, b->source_length, in[i].pos);
        build_directive_uses(b, in[i].directives, in[i].directive_count, &v->directives,
                             &v->directive_count);
        v->deprecation_reason = deprecation_of(b, v->directives, v->directive_count);
        if (in[i].default_value) {
            pending_default *pd = gql_arena_alloc(&b->schema->arena, sizeof(*pd));
            pd->target = v;
            pd->literal = in[i].default_value;
            pd->source = b->source;
            pd->source_length = b->source_length;
            gql_vec_push(defaults, pd);
        }
    }
}

static gql_type *new_named(builder *b, gql_type_kind kind, const char *name, bool builtin)
{
    gql_type *t = gql_arena_alloc(&b->schema->arena, sizeof(*t));
    t->kind = kind;
    t->name = gql_arena_strdup(&b->schema->arena, name);
    t->builtin = builtin;
    gql_map_put(&b->all_types, t->name, t);
    return t;
}

typedef struct def_source {
    const ast_definition *def;
    const char *source;
    size_t length;
} def_source;

/* Appends a dynamic array of structs (arena-backed) */
static void *grow(builder *b, void *old, size_t count, size_t add, size_t size)
{
    void *n = gql_arena_alloc(&b->schema->arena, (count + add) * size);
    if (count)
        memcpy(n, old, count * size);
    return n;
}

static void apply_definition(builder *b, gql_type *t, const ast_definition *d, gql_vec *defaults)
{
    gql_arena *arena = &b->schema->arena;
    if (!d->extension) {
        t->description = arena_str(b, d->description);
        t->location = gql_source_location(b->source, b->source_length, d->pos);
    }
    gql_directive_use *uses;
    size_t use_count;
    build_directive_uses(b, d->directives, d->directive_count, &uses, &use_count);
    if (use_count) {
        t->directives = grow(b, t->directives, t->directive_count, use_count, sizeof(*uses));
        memcpy(t->directives + t->directive_count, uses, use_count * sizeof(*uses));
        t->directive_count += use_count;
    }
    switch (d->kind) {
    case AST_DEF_SCALAR: {
        const gql_directive_use *sb =
            gql_directive_find(t->directives, t->directive_count, "specifiedBy");
        if (sb && gql_directive_string_arg(sb, "url"))
            t->specified_by_url = arena_str(b, gql_directive_string_arg(sb, "url"));
        break;
    }
    case AST_DEF_OBJECT:
    case AST_DEF_INTERFACE: {
        if (d->type_count) {
            const gql_type **ifs = grow(b, t->interfaces, t->interface_count, d->type_count,
                                        sizeof(gql_type *));
            for (size_t i = 0; i < d->type_count; i++) {
                const gql_type *it = gql_map_get(&b->all_types, d->types[i].name);
                if (!it) {
                    fail_at(b, d->types[i].pos, "Unknown type \"%s\".", d->types[i].name);
                    return;
                }
                if (it->kind != GQL_KIND_INTERFACE) {
                    fail_at(b, d->types[i].pos,
                            "Type %s must only implement Interface types, it cannot implement %s.",
                            t->name, it->name);
                    return;
                }
                ifs[t->interface_count + i] = it;
            }
            t->interfaces = ifs;
            t->interface_count += d->type_count;
        }
        if (d->field_count) {
            gql_field *fields = grow(b, t->fields, t->field_count, d->field_count, sizeof(gql_field));
            for (size_t i = 0; i < d->field_count; i++) {
                const ast_field_def *fd = &d->fields[i];
                gql_field *f = &fields[t->field_count + i];
                for (size_t k = 0; k < t->field_count + i; k++)
                    if (strcmp(fields[k].name, fd->name) == 0)
                        fail_at(b, fd->name_pos, "Field \"%s.%s\" can only be defined once.",
                                t->name, fd->name);
                f->name = arena_str(b, fd->name);
                f->description = arena_str(b, fd->description);
                f->type = resolve_type(b, fd->type);
                if (f->type && !gql_type_is_output(f->type))
                    fail_at(b, fd->type->pos,
                            "The type of %s.%s must be Output Type but got: %s.", t->name,
                            fd->name, gql_type_string(arena, f->type));
                f->location = gql_source_location(b->source, b->source_length, fd->pos);
                build_input_values(b, fd->arguments, fd->argument_count, &f->arguments,
                                   &f->argument_count, defaults);
                build_directive_uses(b, fd->directives, fd->directive_count, &f->directives,
                                     &f->directive_count);
                f->deprecation_reason = deprecation_of(b, f->directives, f->directive_count);
            }
            t->fields = fields;
            t->field_count += d->field_count;
        }
        break;
    }
    case AST_DEF_UNION:
        if (d->type_count) {
            const gql_type **members = grow(b, t->possible_types, t->possible_type_count,
                                            d->type_count, sizeof(gql_type *));
            for (size_t i = 0; i < d->type_count; i++) {
                const gql_type *m = gql_map_get(&b->all_types, d->types[i].name);
                if (!m) {
                    fail_at(b, d->types[i].pos, "Unknown type \"%s\".", d->types[i].name);
                    return;
                }
                if (m->kind != GQL_KIND_OBJECT) {
                    fail_at(b, d->types[i].pos,
                            "Union type %s can only include Object types, it cannot include %s.",
                            t->name, m->name);
                    return;
                }
                members[t->possible_type_count + i] = m;
            }
            t->possible_types = members;
            t->possible_type_count += d->type_count;
        }
        break;
    case AST_DEF_ENUM:
        if (d->enum_value_count) {
            gql_enum_value *values = grow(b, t->enum_values, t->enum_value_count,
                                          d->enum_value_count, sizeof(gql_enum_value));
            for (size_t i = 0; i < d->enum_value_count; i++) {
                const ast_enum_value_def *ed = &d->enum_values[i];
                gql_enum_value *v = &values[t->enum_value_count + i];
                v->name = arena_str(b, ed->name);
                v->description = arena_str(b, ed->description);
                v->location = gql_source_location(b->source, b->source_length, ed->pos);
                build_directive_uses(b, ed->directives, ed->directive_count, &v->directives,
                                     &v->directive_count);
                v->deprecation_reason = deprecation_of(b, v->directives, v->directive_count);
            }
            t->enum_values = values;
            t->enum_value_count += d->enum_value_count;
        }
        break;
    case AST_DEF_INPUT_OBJECT:
        if (d->input_value_count) {
            gql_input_value *values;
            size_t n;
            build_input_values(b, d->input_values, d->input_value_count, &values, &n, defaults);
            gql_input_value *all = grow(b, t->input_fields, t->input_field_count, n,
                                        sizeof(gql_input_value));
            memcpy(all + t->input_field_count, values, n * sizeof(*values));
            /* pending defaults point at `values`: retarget them */
            for (size_t i = 0; i < defaults->count; i++) {
                pending_default *pd = defaults->items[i];
                if (pd->target >= values && pd->target < values + n)
                    pd->target = all + t->input_field_count + (pd->target - values);
            }
            t->input_fields = all;
            t->input_field_count += n;
        }
        break;
    default:
        break;
    }
}

static gql_type_kind kind_of_definition(ast_definition_kind k)
{
    switch (k) {
    case AST_DEF_SCALAR: return GQL_KIND_SCALAR;
    case AST_DEF_OBJECT: return GQL_KIND_OBJECT;
    case AST_DEF_INTERFACE: return GQL_KIND_INTERFACE;
    case AST_DEF_UNION: return GQL_KIND_UNION;
    case AST_DEF_ENUM: return GQL_KIND_ENUM;
    default: return GQL_KIND_INPUT_OBJECT;
    }
}

/* collectReferencedTypes of graphql-js's GraphQLSchema constructor: an insertion-ordered set
 * where a removed-then-re-added type moves to the end. */
typedef struct ordered_set {
    gql_vec items; /* NULL marks a removed slot */
    gql_map index; /* name -> (slot index + 1) */
} ordered_set;

static bool set_has(ordered_set *s, const gql_type *t)
{
    return gql_map_get(&s->index, t->name) != NULL;
}

static void set_add(ordered_set *s, gql_type *t)
{
    gql_vec_push(&s->items, t);
    gql_map_put(&s->index, t->name, (void *)(uintptr_t)s->items.count);
}

static void set_delete(ordered_set *s, const gql_type *t)
{
    uintptr_t slot = (uintptr_t)gql_map_get(&s->index, t->name);
    if (slot) {
        s->items.items[slot - 1] = NULL;
        gql_map_put(&s->index, t->name, NULL);
    }
}

static void collect_referenced(ordered_set *s, const gql_type *type, unsigned depth)
{
    gql_type *named = (gql_type *)gql_type_named(type);
    if (set_has(s, named) || depth > 10000)
        return;
    set_add(s, named);
    for (size_t i = 0; i < named->possible_type_count && named->kind == GQL_KIND_UNION; i++)
        collect_referenced(s, named->possible_types[i], depth + 1);
    if (named->kind == GQL_KIND_OBJECT || named->kind == GQL_KIND_INTERFACE) {
        for (size_t i = 0; i < named->interface_count; i++)
            collect_referenced(s, named->interfaces[i], depth + 1);
        for (size_t i = 0; i < named->field_count; i++) {
            collect_referenced(s, named->fields[i].type, depth + 1);
            for (size_t a = 0; a < named->fields[i].argument_count; a++)
                collect_referenced(s, named->fields[i].arguments[a].type, depth + 1);
        }
    }
    if (named->kind == GQL_KIND_INPUT_OBJECT)
        for (size_t i = 0; i < named->input_field_count; i++)
            collect_referenced(s, named->input_fields[i].type, depth + 1);
}

static bool build_definitions(builder *b, const ast_document *doc, bool builtin,
                              gql_vec *schema_defs, gql_vec *defaults)
{
    b->source = doc->source;
    b->source_length = doc->source_length;
    /* pass 1: create named types and directive definitions */
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *d = doc->definitions[i];
        if (d->kind == AST_DEF_OPERATION || d->kind == AST_DEF_FRAGMENT)
            return fail_at(b, d->pos, "Definitions of operations and fragments are not "
                                      "allowed in a schema.");
        if (d->kind == AST_DEF_SCHEMA) {
            gql_vec_push(schema_defs, (void *)d);
            continue;
        }
        if (d->kind == AST_DEF_DIRECTIVE) {
            if (gql_map_get(&b->all_directives, d->name) && !builtin) {
                gql_directive_def *old = gql_map_get(&b->all_directives, d->name);
                if (!old->builtin)
                    return fail_at(b, d->name_pos,
                                   "There can be only one directive named \"@%s\".", d->name);
            }
            gql_directive_def *dd = gql_arena_alloc(&b->schema->arena, sizeof(*dd));
            dd->name = gql_arena_strdup(&b->schema->arena, d->name);
            dd->builtin = builtin;
            gql_map_put(&b->all_directives, dd->name, dd);
            continue;
        }
        if (d->extension)
            continue;
        gql_type *existing = gql_map_get(&b->all_types, d->name);
        if (existing) {
            if (existing->builtin && !builtin)
                continue; /* graphql-js keeps the standard definition */
            return fail_at(b, d->name_pos, "There can be only one type named \"%s\".", d->name);
        }
        gql_type *t = new_named(b, kind_of_definition(d->kind), d->name, builtin);
        if (!builtin)
            gql_vec_push(&b->sdl_types, t);
    }
    /* pass 2: fill them (definitions, then extensions in document order) */
    for (size_t i = 0; i < doc->count && !b->error; i++) {
        const ast_definition *d = doc->definitions[i];
        if (d->kind == AST_DEF_SCHEMA)
            continue;
        if (d->kind == AST_DEF_DIRECTIVE) {
            gql_directive_def *dd = gql_map_get(&b->all_directives, d->name);
            if (dd->builtin != builtin)
                continue;
            dd->description = arena_str(b, d->description);
            dd->locations = d->locations;
            dd->location_count = d->location_count;
            unsigned *order = gql_arena_alloc(&b->schema->arena,
                                              (d->location_count + 1) * sizeof(unsigned));
            memcpy(order, d->location_order, d->location_count * sizeof(unsigned));
            dd->location_order = order;
            dd->repeatable = d->repeatable;
            dd->location = gql_source_location(b->source, b->source_length, d->pos);
            build_input_values(b, d->input_values, d->input_value_count, &dd->arguments,
                               &dd->argument_count, defaults);
            gql_vec_push(&b->directive_defs, dd);
            continue;
        }
        gql_type *t = gql_map_get(&b->all_types, d->name);
        if (!t)
            return fail_at(b, d->name_pos, "Cannot extend type \"%s\" because it is not defined.",
                           d->name);
        if (t->builtin && !builtin)
            continue;
        if (t->kind != kind_of_definition(d->kind))
            return fail_at(b, d->name_pos, "Cannot extend non-%s type \"%s\".",
                           d->kind == AST_DEF_OBJECT ? "object" : "matching", d->name);
        apply_definition(b, t, d, defaults);
    }
    return b->error == NULL;
}

static void add_meta_fields(gql_schema *s, builder *b)
{
    gql_arena *arena = &s->arena;
    const gql_type *schema_t = gql_map_get(&b->all_types, "__Schema");
    const gql_type *type_t = gql_map_get(&b->all_types, "__Type");
    const gql_type *string_t = gql_map_get(&b->all_types, "String");
    s->string_type = string_t;
    s->boolean_type = gql_map_get(&b->all_types, "Boolean");
    s->schema_field.name = "__schema";
    s->schema_field.description = "Access the current type schema of this server.";
    s->schema_field.type = schema_wrap(s, GQL_KIND_NON_NULL, schema_t);
    s->type_field.name = "__type";
    s->type_field.description = "Request the type information of a single type.";
    s->type_field.type = type_t;
    s->type_field.argument_count = 1;
    s->type_field.arguments = gql_arena_alloc(arena, sizeof(gql_input_value));
    s->type_field.arguments[0].name = "name";
    s->type_field.arguments[0].type = schema_wrap(s, GQL_KIND_NON_NULL, string_t);
    s->typename_field.name = "__typename";
    s->typename_field.description = "The name of the current Object type at runtime.";
    s->typename_field.type = schema_wrap(s, GQL_KIND_NON_NULL, string_t);
}

gql_schema *gql_schema_parse(const char *sdl, size_t length, char **error)
{
    if (error)
        *error = NULL;
    gql_schema *s = gql_xcalloc(1, sizeof(*s));
    gql_arena_init(&s->arena);
    gql_map_init(&s->type_map);
    gql_map_init(&s->directive_map);
    builder b = {0};
    b.schema = s;
    gql_map_init(&b.all_types);
    gql_map_init(&b.all_directives);
    gql_vec schema_defs = {0}, defaults = {0};

    gql_limits limits = {SIZE_MAX / 4, SIZE_MAX / 4, 512};
    gql_parse_error perr;
    gql_arena ast_arena;
    gql_arena_init(&ast_arena);
    ast_document *builtin_doc =
        gql_parse(&ast_arena, builtin_sdl, strlen(builtin_sdl), &limits, &perr);
    if (!builtin_doc) {
        fprintf(stderr, "graphql: built-in SDL does not parse: %s\n", perr.message);
        abort();
    }
    ast_document *doc = gql_parse(&ast_arena, sdl, length, &limits, &perr);
    if (!doc) {
        b.source = sdl;
        b.source_length = length;
        if (perr.has_pos) {
            fail_at(&b, perr.pos, "%s", perr.message);
        } else {
            b.error = gql_xstrdup(perr.message);
        }
        goto failed;
    }
    if (!build_definitions(&b, builtin_doc, true, &schema_defs, &defaults))
        goto failed;
    gql_vec builtin_directives = b.directive_defs;
    memset(&b.directive_defs, 0, sizeof(b.directive_defs));
    schema_defs.count = 0;
    if (!build_definitions(&b, doc, false, &schema_defs, &defaults)) {
        gql_vec_free(&builtin_directives);
        goto failed;
    }
    /* default values, now that every type is complete */
    for (size_t i = 0; i < defaults.count; i++) {
        pending_default *pd = defaults.items[i];
        if (!pd->target->type)
            continue;
        cJSON *v = NULL;
        /* graphql-js's buildASTSchema keeps no default when the literal does not coerce
         * (valueFromAST gives undefined); so does this */
        if (!gql_value_from_ast(pd->literal, pd->target->type, NULL, &v))
            v = NULL;
        if (v)
            gql_vec_push(&s->owned_json, v);
        pd->target->default_value = v;
    }
    /* root types */
    b.source = sdl;
    b.source_length = length;
    if (schema_defs.count) {
        for (size_t i = 0; i < schema_defs.count; i++) {
            const ast_definition *d = schema_defs.items[i];
            if (!d->extension && d->description)
                s->description = arena_str(&b, d->description);
            for (size_t k = 0; k < d->type_count; k++) {
                const gql_type *t = gql_map_get(&b.all_types, d->types[k].name);
                if (!t) {
                    fail_at(&b, d->types[k].pos, "Unknown type \"%s\".", d->types[k].name);
                    gql_vec_free(&builtin_directives);
                    goto failed;
                }
                if (d->root_operations[k] == GQL_OPERATION_QUERY)
                    s->query = t;
                else if (d->root_operations[k] == GQL_OPERATION_MUTATION)
                    s->mutation = t;
                else
                    s->subscription = t;
            }
        }
    } else {
        s->query = gql_map_get(&b.all_types, "Query");
        s->mutation = gql_map_get(&b.all_types, "Mutation");
        s->subscription = gql_map_get(&b.all_types, "Subscription");
    }
    if (!s->query || s->query->kind != GQL_KIND_OBJECT) {
        b.error = gql_xstrdup(s->query ? "line 1, column 1: Query root type must be Object type."
                                       : "line 1, column 1: Query root type must be provided.");
        gql_vec_free(&builtin_directives);
        goto failed;
    }
    /* interface implementations, in type-map order below */
    /* directives: the SDL's, then the specified ones it does not redefine */
    gql_vec all_directives = {0};
    for (size_t i = 0; i < b.directive_defs.count; i++)
        gql_vec_push(&all_directives, b.directive_defs.items[i]);
    for (size_t i = 0; i < builtin_directives.count; i++) {
        gql_directive_def *dd = builtin_directives.items[i];
        if (gql_map_get(&b.all_directives, dd->name) == dd)
            gql_vec_push(&all_directives, dd);
    }
    gql_vec_free(&builtin_directives);
    gql_vec_free(&b.directive_defs);
    s->directive_count = all_directives.count;
    s->directives = (gql_directive_def **)gql_vec_to_arena(&all_directives, &s->arena);
    for (size_t i = 0; i < s->directive_count; i++)
        gql_map_put(&s->directive_map, s->directives[i]->name, s->directives[i]);

    /* the type map, in graphql-js's order */
    ordered_set set = {0};
    for (size_t i = 0; i < b.sdl_types.count; i++)
        set_add(&set, b.sdl_types.items[i]);
    for (size_t i = 0; i < b.sdl_types.count; i++) {
        set_delete(&set, b.sdl_types.items[i]);
        collect_referenced(&set, b.sdl_types.items[i], 0);
    }
    collect_referenced(&set, s->query, 0);
    if (s->mutation)
        collect_referenced(&set, s->mutation, 0);
    if (s->subscription)
        collect_referenced(&set, s->subscription, 0);
    for (size_t i = 0; i < s->directive_count; i++)
        for (size_t a = 0; a < s->directives[i]->argument_count; a++)
            collect_referenced(&set, s->directives[i]->arguments[a].type, 0);
    collect_referenced(&set, gql_map_get(&b.all_types, "__Schema"), 0);
    gql_vec ordered = {0};
    for (size_t i = 0; i < set.items.count; i++)
        if (set.items.items[i])
            gql_vec_push(&ordered, set.items.items[i]);
    gql_vec_free(&set.items);
    gql_map_free(&set.index);
    s->type_count = ordered.count;
    s->types = (gql_type **)gql_vec_to_arena(&ordered, &s->arena);
    for (size_t i = 0; i < s->type_count; i++)
        gql_map_put(&s->type_map, s->types[i]->name, s->types[i]);
    /* implementations of each interface, in type-map order */
    for (size_t i = 0; i < s->type_count; i++) {
        gql_type *itf = s->types[i];
        if (itf->kind != GQL_KIND_INTERFACE)
            continue;
        size_t n = 0;
        for (size_t k = 0; k < s->type_count; k++)
            if (s->types[k]->kind == GQL_KIND_OBJECT)
                for (size_t j = 0; j < s->types[k]->interface_count; j++)
                    if (s->types[k]->interfaces[j] == itf)
                        n++;
        itf->possible_types = n ? gql_arena_alloc(&s->arena, n * sizeof(gql_type *)) : NULL;
        itf->possible_type_count = 0;
        for (size_t k = 0; k < s->type_count; k++)
            if (s->types[k]->kind == GQL_KIND_OBJECT)
                for (size_t j = 0; j < s->types[k]->interface_count; j++)
                    if (s->types[k]->interfaces[j] == itf)
                        itf->possible_types[itf->possible_type_count++] = s->types[k];
    }
    add_meta_fields(s, &b);
    gql_vec_free(&schema_defs);
    gql_vec_free(&defaults);
    gql_vec_free(&b.sdl_types);
    gql_map_free(&b.all_types);
    gql_map_free(&b.all_directives);
    gql_arena_free(&ast_arena);
    return s;

failed:
    if (error)
        *error = b.error;
    else
        free(b.error);
    for (size_t i = 0; i < s->owned_json.count; i++)
        cJSON_Delete(s->owned_json.items[i]);
    gql_vec_free(&s->owned_json);
    gql_vec_free(&schema_defs);
    gql_vec_free(&defaults);
    gql_vec_free(&b.sdl_types);
    gql_vec_free(&b.directive_defs);
    gql_map_free(&b.all_types);
    gql_map_free(&b.all_directives);
    gql_arena_free(&ast_arena);
    gql_map_free(&s->type_map);
    gql_map_free(&s->directive_map);
    gql_arena_free(&s->arena);
    free(s);
    return NULL;
}
