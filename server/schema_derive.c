/* schema_derive: the SDL the server serves from a file with read-model declarations: the
 * directives it lacks, @table per @entity, list arguments and CRUD mutations, as SDL text. */
#include <config.h>

#include "server/schema_derive.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "declare/decl_model.h"
#include "server/graphql/gql_arena.h"
#include "server/graphql/gql_map.h"
#include "server/graphql/gql_parser.h"

/* The server's own directives. */
static const char SERVER_DIRECTIVES_SDL[] =
    "\"Maps an object type to a read-model table with columns id and data jsonb.\"\n"
    "directive @table(name: String!) on OBJECT\n"
    "\"A Query field that looks one row of its type's table up by the id argument.\"\n"
    "directive @lookup on FIELD_DEFINITION\n"
    "\"A Query field that lists rows of its type's table (where, orderBy, limit, offset).\"\n"
    "directive @list on FIELD_DEFINITION\n"
    "\"A field answered by a SQL function taking the field's arguments as one jsonb object.\"\n"
    "directive @sql(function: String!) on FIELD_DEFINITION\n"
    "\"A Boolean list argument that, when true, keeps only the rows whose document field is true.\"\n"
    "directive @whenTrue(field: String!) on ARGUMENT_DEFINITION\n";

/* The inputs derived list arguments use, as the examples write them; the filter of a
 * scalar is "<scalar>Filter". */
static const char STANDARD_INPUTS_SDL[] =
    "\"Sort direction.\"\n"
    "enum OrderDirection { ASC DESC }\n"
    "\"Conditions on a String field; several given together must all hold.\"\n"
    "input StringFilter { eq: String neq: String gt: String gte: String lt: String lte: String\n"
    "  in: [String!] nin: [String!] \"Substring match, case-sensitive.\" contains: String startsWith: String\n"
    "  isNull: Boolean }\n"
    "\"Conditions on an ID field.\"\n"
    "input IDFilter { eq: ID neq: ID in: [ID!] nin: [ID!] isNull: Boolean }\n"
    "\"Conditions on an Int field.\"\n"
    "input IntFilter { eq: Int neq: Int gt: Int gte: Int lt: Int lte: Int in: [Int!] nin: [Int!] isNull: Boolean }\n"
    "\"Conditions on a Float field.\"\n"
    "input FloatFilter { eq: Float neq: Float gt: Float gte: Float lt: Float lte: Float in: [Float!] nin: [Float!]\n"
    "  isNull: Boolean }\n"
    "\"Conditions on a Boolean field.\"\n"
    "input BooleanFilter { eq: Boolean neq: Boolean isNull: Boolean }\n"
    "\"Conditions on a DateTime field (ISO 8601 strings compare in time order).\"\n"
    "input DateTimeFilter { eq: DateTime neq: DateTime gt: DateTime gte: DateTime lt: DateTime lte: DateTime\n"
    "  in: [DateTime!] nin: [DateTime!] isNull: Boolean }\n"
    "\"Conditions on a Decimal field, compared as numbers.\"\n"
    "input DecimalFilter { eq: Decimal neq: Decimal gt: Decimal gte: Decimal lt: Decimal lte: Decimal\n"
    "  in: [Decimal!] nin: [Decimal!] isNull: Boolean }\n";

/* The scalars a derived where filters on and orders by: the ones sql_builder compares. */
static const char *const FILTERED_SCALARS[] = {"ID", "String", "Int", "Float", "Boolean", "DateTime", "Decimal"};

static const char *const AGGREGATE_DIRECTIVES[] = {"count", "sum", "min", "max", "expr"};

/* Text put in at pos of the file (derived text goes in at the same place in the order
 * it was derived). */
typedef struct insertion {
    uint32_t pos;
    size_t order;
    char *text;
} insertion;

/* The definitions of one object type: its own, then its extensions, in file order. */
typedef struct definition_list {
    const ast_definition *definition;
    struct definition_list *next;
} definition_list;

typedef struct derive {
    const ast_document *doc;
    const char *source;
    char *text;             /* a copy of source, where moved descriptions are blanked */
    size_t length;
    const char *path;
    char *error;
    size_t error_size;
    gql_arena *arena;
    gql_map types;          /* name -> its (non-extension) ast_definition, of the file */
    gql_map objects;        /* object type name -> definition_list (extensions included) */
    gql_map object_tails;   /* object type name -> the last item of its list */
    gql_map mutation_fields;/* names of the file's Mutation fields */
    const ast_definition **pending_where; /* object types whose derived <T>Where is not written yet */
    size_t pending_count, pending_capacity;
    gql_map derived;        /* names of the types derived so far */
    gql_map used;           /* directive names used or derived */
    gql_map defined;        /* directive names the file defines */
    insertion *insertions;
    size_t insertion_count, insertion_capacity;
    gql_buf tail;           /* definitions after the file's last line */
    const char *query_name, *mutation_name;
    bool schema_defined, mutation_root, mutation_exists;
} derive;

static bool fail(derive *d, uint32_t pos, const char *format, ...) __attribute__((format(printf, 3, 4)));
static bool fail(derive *d, uint32_t pos, const char *format, ...)
{
    gql_location location = gql_source_location(d->source, d->length, pos);
    int used = snprintf(d->error, d->error_size, "%s:%u: ", d->path, location.line);
    if (used < 0 || (size_t) used >= d->error_size)
        return false;
    va_list args;
    va_start(args, format);
    vsnprintf(d->error + used, d->error_size - (size_t) used, format, args);
    va_end(args);
    return false;
}

static void insert(derive *d, uint32_t pos, const gql_buf *text)
{
    if (d->insertion_count == d->insertion_capacity) {
        d->insertion_capacity = d->insertion_capacity ? d->insertion_capacity * 2 : 16;
        d->insertions = alloc_array(d->insertions, d->insertion_capacity, sizeof *d->insertions);
    }
    insertion *item = &d->insertions[d->insertion_count];
    item->pos = pos;
    item->order = d->insertion_count++;
    item->text = alloc_strdup(text->data);
}

static char *concat(derive *d, const char *a, const char *b)
{
    size_t a_length = strlen(a), b_length = strlen(b);
    char *out = gql_arena_alloc(d->arena, a_length + b_length + 1);
    memcpy(out, a, a_length);
    memcpy(out + a_length, b, b_length + 1);
    return out;
}

static const ast_value *argument(const ast_directive *use, const char *name)
{
    const ast_argument *given = gql_ast_argument(use, name);
    return given ? given->value : NULL;
}

/* A string argument: NULL when absent; *bad when present but not a non-empty string. */
static const char *string_argument(const ast_directive *use, const char *name, bool *bad)
{
    const ast_value *value = argument(use, name);
    *bad = false;
    if (value == NULL)
        return NULL;
    if (value->kind != AST_VALUE_STRING || value->text_length == 0 || strlen(value->text) != value->text_length) {
        *bad = true;
        return NULL;
    }
    return value->text;
}

static const char *named_type(const ast_type *type, bool *list)
{
    *list = false;
    while (type->kind != AST_TYPE_NAMED) {
        if (type->kind == AST_TYPE_LIST)
            *list = true;
        type = type->inner;
    }
    return type->name;
}

static void print_type(gql_buf *out, const ast_type *type)
{
    if (type->kind == AST_TYPE_NAMED) {
        gql_buf_puts(out, type->name);
    } else if (type->kind == AST_TYPE_LIST) {
        gql_buf_puts(out, "[");
        print_type(out, type->inner);
        gql_buf_puts(out, "]");
    } else {
        print_type(out, type->inner);
        gql_buf_puts(out, "!");
    }
}

static bool is_object(const ast_definition *definition)
{
    return definition != NULL && definition->kind == AST_DEF_OBJECT;
}

static const ast_directive *type_directive(const ast_definition *definition, const char *name)
{
    return gql_ast_directive(definition->directives, definition->directive_count, name);
}

static const ast_directive *field_directive(const ast_field_def *field, const char *name)
{
    return gql_ast_directive(field->directives, field->directive_count, name);
}

/* The entity and function names declare/ gives: decl_snake_case. */
static void snake_case(gql_buf *out, const char *name)
{
    char buffer[256];
    decl_snake_case(name, buffer, sizeof buffer);
    gql_buf_puts(out, buffer);
}

/* Calls visit for every field of the object type name: its definition's, then its
 * extensions' (document order). */
typedef bool (*field_visit)(derive *d, const ast_definition *owner, const ast_field_def *field, void *context);

static bool for_each_field(derive *d, const char *name, field_visit visit, void *context)
{
    for (const definition_list *item = gql_map_get(&d->objects, name); item != NULL; item = item->next)
        for (size_t f = 0; f < item->definition->field_count; f++)
            if (!visit(d, item->definition, &item->definition->fields[f], context))
                return false;
    return true;
}

static bool type_exists(derive *d, const char *name)
{
    return gql_map_get(&d->types, name) != NULL || gql_map_get(&d->derived, name) != NULL;
}

static void mark_derived(derive *d, const char *name)
{
    gql_map_put(&d->derived, gql_arena_strdup(d->arena, name), (void *) 1);
}

/* Appends to the tail the definitions of sdl the file lacks and needs (directives it uses,
 * types derived), each as the slice of text from its start to the next definition's. */
static void append_definitions(derive *d, const char *sdl, bool directives)
{
    gql_arena arena;
    gql_arena_init(&arena);
    gql_limits limits = {SIZE_MAX / 4, SIZE_MAX / 4, 512};
    gql_parse_error error;
    ast_document *doc = gql_parse(&arena, sdl, strlen(sdl), &limits, &error);
    if (doc == NULL) {
        fprintf(stderr, "schema_derive: built-in SDL does not parse: %s\n", error.message);
        abort();
    }
    for (size_t i = 0; i < doc->count; i++) {
        const ast_definition *definition = doc->definitions[i];
        bool wanted = directives
                          ? gql_map_get(&d->used, definition->name) && !gql_map_get(&d->defined, definition->name)
                          : gql_map_get(&d->derived, definition->name) && !gql_map_get(&d->types, definition->name);
        if (!wanted)
            continue;
        size_t end = i + 1 < doc->count ? doc->definitions[i + 1]->pos : strlen(sdl);
        gql_buf_append(&d->tail, sdl + definition->pos, end - definition->pos);
    }
    gql_arena_free(&arena);
}

static void note_directives(derive *d, const ast_directive *directives, size_t count)
{
    for (size_t i = 0; i < count; i++)
        gql_map_put(&d->used, directives[i].name, (void *) 1);
}

/* Indexes the file: its types, the directives it defines and uses, its root names. */
static void read_document(derive *d)
{
    d->query_name = "Query";
    d->mutation_name = "Mutation";
    for (size_t i = 0; i < d->doc->count; i++) {
        const ast_definition *definition = d->doc->definitions[i];
        note_directives(d, definition->directives, definition->directive_count);
        for (size_t f = 0; f < definition->field_count; f++) {
            const ast_field_def *field = &definition->fields[f];
            note_directives(d, field->directives, field->directive_count);
            for (size_t a = 0; a < field->argument_count; a++)
                note_directives(d, field->arguments[a].directives, field->arguments[a].directive_count);
        }
        for (size_t v = 0; v < definition->input_value_count; v++)
            note_directives(d, definition->input_values[v].directives, definition->input_values[v].directive_count);
        for (size_t v = 0; v < definition->enum_value_count; v++)
            note_directives(d, definition->enum_values[v].directives, definition->enum_values[v].directive_count);
        if (definition->kind == AST_DEF_DIRECTIVE) {
            gql_map_put(&d->defined, definition->name, (void *) 1);
        } else if (definition->kind == AST_DEF_SCHEMA) {
            d->schema_defined = true;
            for (size_t r = 0; r < definition->type_count; r++) {
                if (definition->root_operations[r] == GQL_OPERATION_QUERY)
                    d->query_name = definition->types[r].name;
                else if (definition->root_operations[r] == GQL_OPERATION_MUTATION) {
                    d->mutation_name = definition->types[r].name;
                    d->mutation_root = true;
                }
            }
        } else if (!definition->extension && definition->name != NULL) {
            gql_map_put(&d->types, definition->name, (void *) definition);
        }
        if (definition->kind == AST_DEF_OBJECT && definition->name != NULL) {
            definition_list *item = gql_arena_alloc(d->arena, sizeof *item);
            item->definition = definition;
            item->next = NULL;
            definition_list *last = gql_map_put(&d->object_tails, definition->name, item);
            if (last == NULL)
                gql_map_put(&d->objects, definition->name, item);
            else
                last->next = item;
        }
    }
    d->mutation_exists = gql_map_get(&d->types, d->mutation_name) != NULL;
    for (const definition_list *item = gql_map_get(&d->objects, d->mutation_name); item; item = item->next)
        for (size_t f = 0; f < item->definition->field_count; f++)
            gql_map_put(&d->mutation_fields, item->definition->fields[f].name, (void *) 1);
}

/* ------------------------------------------------------------------ declarations */

static bool is_declared(const ast_definition *definition)
{
    return type_directive(definition, "entity") != NULL || type_directive(definition, "embedded") != NULL;
}

static bool is_read_model(const ast_definition *definition)
{
    return is_object(definition) && (type_directive(definition, "entity") || type_directive(definition, "table"));
}

static bool is_entity_name(const char *name)
{
    if (!(islower((unsigned char) *name) || *name == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '_'))
            return false;
    return true;
}

/* source "table" or "schema.table": one dot at most, no empty part. */
static bool source_is_valid(const char *source)
{
    const char *dot = strchr(source, '.');
    if (dot == NULL)
        return true;
    return dot != source && dot[1] != '\0' && strchr(dot + 1, '.') == NULL;
}

static bool check_field(derive *d, const ast_definition *owner, const ast_field_def *field, void *context)
{
    (void) context;
    static const char *const field_directives[] = {"column", "ref", "many", "count", "sum", "min", "max", "expr"};
    const ast_definition *declared = gql_map_get(&d->types, owner->name);
    for (size_t i = 0; i < sizeof field_directives / sizeof field_directives[0]; i++) {
        const ast_directive *use = field_directive(field, field_directives[i]);
        if (use != NULL && (declared == NULL || !is_declared(declared)))
            return fail(d, use->pos, "%s.%s: @%s is for fields of @entity and @embedded types (declare %s with "
                        "@entity(source: ...) or @embedded(source: ...), or remove it)",
                        owner->name, field->name, field_directives[i], owner->name);
    }
    bool list;
    const char *target = named_type(field->type, &list);
    const ast_directive *ref = field_directive(field, "ref");
    const ast_directive *many = field_directive(field, "many");
    const ast_directive *link = ref ? ref : many;
    if (link == NULL)
        return true;
    if (ref != NULL && list)
        return fail(d, ref->pos, "%s.%s: @ref names one row, its type is a list (use @many for rows pointing "
                    "here)", owner->name, field->name);
    if (many != NULL && !list)
        return fail(d, many->pos, "%s.%s: @many needs a list type such as [%s!]! (use @ref for one row)",
                    owner->name, field->name, target);
    const ast_definition *target_type = gql_map_get(&d->types, target);
    if (!is_object(target_type) || !is_declared(target_type))
        return fail(d, link->pos, "%s.%s: @%s needs a type declared with @entity or @embedded, %s is not "
                    "(declare it with @embedded(source: ...))", owner->name, field->name, link->name, target);
    bool bad;
    if (string_argument(link, "via", &bad) == NULL)
        return fail(d, link->pos, "%s.%s: @%s needs via: \"<foreign key column>\"", owner->name, field->name,
                    link->name);
    if (many != NULL) {
        bool bad_through, bad_target;
        const char *through = string_argument(many, "through", &bad_through);
        const char *target_column = string_argument(many, "target", &bad_target);
        if (bad_through || bad_target || (through == NULL) != (target_column == NULL))
            return fail(d, many->pos, "%s.%s: @many(through:) and target: go together (through names the "
                        "association table, target its foreign key to %s's source)", owner->name, field->name,
                        target);
    }
    return true;
}

/* Checks a type's @entity/@embedded; fills *schema_out/ *entity_out for an @entity. */
static bool check_declared_type(derive *d, const ast_definition *type)
{
    const ast_directive *entity = type_directive(type, "entity");
    const ast_directive *embedded = type_directive(type, "embedded");
    const ast_directive *use = entity ? entity : embedded;
    if (use == NULL)
        return true;
    if (type->kind != AST_DEF_OBJECT)
        return fail(d, use->pos, "%s: @%s applies to object types only", type->name, use->name);
    if (type->extension)
        return fail(d, use->pos, "extend type %s: @%s goes on the type's definition, not on an extension",
                    type->name, use->name);
    if (entity != NULL && embedded != NULL)
        return fail(d, embedded->pos, "type %s: @entity and @embedded exclude each other (an @entity is a read "
                    "model, an @embedded type a projection inside one: keep one)", type->name);
    bool bad;
    const char *source = string_argument(use, "source", &bad);
    if (source == NULL || !source_is_valid(source))
        return fail(d, use->pos, "type %s: @%s needs source: \"tb_x\" or \"schema.tb_x\" (the table its rows "
                    "come from)", type->name, use->name);
    if (entity != NULL) {
        const char *name = string_argument(entity, "name", &bad);
        if (bad || (name != NULL && !is_entity_name(name)))
            return fail(d, entity->pos, "type %s: @entity(name:) is a lower-case SQL name such as \"order_line\" "
                        "(its read model is tv_<name>)", type->name);
        const ast_value *crud = argument(entity, "crud");
        if (crud != NULL && crud->kind != AST_VALUE_BOOLEAN)
            return fail(d, entity->pos, "type %s: @entity(crud:) is true or false", type->name);
    }
    bool has_id = false;
    for (size_t f = 0; f < type->field_count; f++)
        if (strcmp(type->fields[f].name, "id") == 0)
            has_id = true;
    if (!has_id)
        return fail(d, use->pos, "type %s: a declared type needs an `id: ID!` field (its source's key)",
                    type->name);
    return true;
}

/* ------------------------------------------------------------------ read models */

/* "<schema>.tv_<entity>" for an @entity type; sets *schema (arena). */
static const char *entity_names(derive *d, const ast_definition *type, const char **schema, const char **entity)
{
    const ast_directive *use = type_directive(type, "entity");
    bool bad;
    const char *source = string_argument(use, "source", &bad);
    const char *name = string_argument(use, "name", &bad);
    const char *dot = strchr(source, '.');
    gql_buf text;
    gql_buf_init(&text);
    if (dot != NULL)
        gql_buf_append(&text, source, (size_t) (dot - source));
    else
        gql_buf_puts(&text, "public");
    *schema = gql_arena_strdup(d->arena, text.data);
    gql_buf_reset(&text);
    if (name != NULL)
        gql_buf_puts(&text, name);
    else
        snake_case(&text, type->name);
    *entity = gql_arena_strdup(d->arena, text.data);
    gql_buf_free(&text);
    return concat(d, concat(d, *schema, ".tv_"), *entity);
}

/* @table on every @entity type that has none, in the @entity's own line. */
static void add_table(derive *d, const ast_definition *type)
{
    const ast_directive *entity = type_directive(type, "entity");
    if (entity == NULL || type_directive(type, "table") != NULL)
        return;
    const char *schema, *name;
    const char *table = entity_names(d, type, &schema, &name);
    gql_buf text;
    gql_buf_init(&text);
    gql_buf_puts(&text, "@table(name: ");
    gql_buf_json_string(&text, table, strlen(table));
    gql_buf_puts(&text, ") ");
    insert(d, entity->pos, &text);
    gql_buf_free(&text);
    gql_map_put(&d->used, "table", (void *) 1);
}

/* The filter input of a scalar type name, or NULL for a type no filter compares. */
static const char *filter_of(derive *d, const char *type_name)
{
    for (size_t i = 0; i < sizeof FILTERED_SCALARS / sizeof FILTERED_SCALARS[0]; i++) {
        if (strcmp(type_name, FILTERED_SCALARS[i]) != 0)
            continue;
        const ast_definition *declared = gql_map_get(&d->types, type_name);
        /* DateTime and Decimal are the file's own scalars; another kind of type by that name is not. */
        if (i >= 5 && (declared == NULL || declared->kind != AST_DEF_SCALAR))
            return NULL;
        const char *filter = concat(d, type_name, "Filter");
        if (!type_exists(d, filter))
            mark_derived(d, filter);
        return filter;
    }
    return NULL;
}

/* The name of <T>Where for the object type T; unless the file has it, it is derived (by
 * write_pending_wheres, so that nesting needs no recursion). */
static const char *derive_where(derive *d, const ast_definition *type)
{
    const char *name = concat(d, type->name, "Where");
    if (type_exists(d, name))
        return name;
    mark_derived(d, name);
    if (d->pending_count == d->pending_capacity) {
        d->pending_capacity = d->pending_capacity ? d->pending_capacity * 2 : 16;
        d->pending_where = alloc_array(d->pending_where, d->pending_capacity, sizeof *d->pending_where);
    }
    d->pending_where[d->pending_count++] = type;
    return name;
}

static bool where_field(derive *d, const ast_definition *owner, const ast_field_def *field, void *context)
{
    (void) owner;
    gql_buf *text = context;
    bool list;
    const char *type_name = named_type(field->type, &list);
    if (list || field->argument_count > 0)
        return true;
    const char *filter = filter_of(d, type_name);
    const ast_definition *object = gql_map_get(&d->types, type_name);
    if (filter == NULL && is_object(object))
        filter = derive_where(d, object);
    if (filter != NULL)
        gql_buf_printf(text, "  %s: %s\n", field->name, filter);
    return true;
}

/* Writes the pending <T>Where inputs, and those their fields add, to the tail. */
static void write_pending_wheres(derive *d)
{
    gql_buf text;
    gql_buf_init(&text);
    for (size_t i = 0; i < d->pending_count; i++) {
        const char *type_name = d->pending_where[i]->name;
        gql_buf_reset(&text);
        gql_buf_printf(&text, "\n\"Filters on %s; fields given together must all hold.\"\ninput %sWhere {\n",
                       type_name, type_name);
        for_each_field(d, type_name, where_field, &text);
        gql_buf_printf(&text, "  AND: [%sWhere!]\n  OR: [%sWhere!]\n  NOT: %sWhere\n}\n", type_name, type_name,
                       type_name);
        gql_buf_puts(&d->tail, text.data);
    }
    gql_buf_free(&text);
}

static bool order_field(derive *d, const ast_definition *owner, const ast_field_def *field, void *context)
{
    (void) owner;
    gql_buf *text = context;
    bool list;
    const char *type_name = named_type(field->type, &list);
    /* true, false and null cannot be enum values. */
    if (list || field->argument_count > 0 || filter_of(d, type_name) == NULL || strcmp(field->name, "true") == 0 ||
        strcmp(field->name, "false") == 0 || strcmp(field->name, "null") == 0)
        return true;
    gql_buf_printf(text, "  %s\n", field->name);
    return true;
}

/* <T>OrderBy (and <T>OrderField) unless the file has them. */
static const char *derive_order_by(derive *d, const char *type_name)
{
    const char *name = concat(d, type_name, "OrderBy");
    if (type_exists(d, name))
        return name;
    const char *field_enum = concat(d, type_name, "OrderField");
    if (!type_exists(d, field_enum)) {
        gql_buf text;
        gql_buf_init(&text);
        for_each_field(d, type_name, order_field, &text);
        if (text.len == 0) {
            gql_buf_free(&text);
            return NULL;
        }
        mark_derived(d, field_enum);
        gql_buf_printf(&d->tail, "\n\"%s fields a list can be ordered by.\"\nenum %s {\n%s}\n", type_name,
                       field_enum, text.data);
        gql_buf_free(&text);
    }
    mark_derived(d, name);
    if (!type_exists(d, "OrderDirection"))
        mark_derived(d, "OrderDirection");
    gql_buf_printf(&d->tail, "\n\"One ordering key of a %s list; the id breaks ties.\"\ninput %s {\n"
                   "  field: %s!\n  direction: OrderDirection = ASC\n}\n", type_name, name, field_enum);
    return name;
}

static bool list_arguments(derive *d, const ast_definition *owner, const ast_field_def *field, void *context)
{
    (void) context;
    const ast_directive *list_use = field_directive(field, "list");
    if (list_use == NULL)
        return true;
    bool list;
    const char *type_name = named_type(field->type, &list);
    const ast_definition *type = gql_map_get(&d->types, type_name);
    if (is_object(type) && !is_read_model(type))
        return fail(d, list_use->pos, "%s.%s: @list lists a read model, %s is not one (declare it with "
                    "@entity(source: ...) or map it with @table(name: ...))", owner->name, field->name, type_name);
    if (!list || !is_object(type))
        return true; /* schema_map reports a wrong type */
    if (field->argument_count > 0) {
        /* Hand-written arguments win (defaults, @whenTrue), and may name <T>Where and
         * <T>OrderBy without writing them: those are derived as for a bare list. */
        const char *where_name = concat(d, type_name, "Where");
        const char *order_by_name = concat(d, type_name, "OrderBy");
        for (size_t i = 0; i < field->argument_count; i++) {
            bool argument_list;
            const char *argument_type = named_type(field->arguments[i].type, &argument_list);
            if (strcmp(argument_type, where_name) == 0)
                derive_where(d, type);
            else if (strcmp(argument_type, order_by_name) == 0)
                derive_order_by(d, type_name);
        }
        return true;
    }
    const char *where = derive_where(d, type);
    const char *order_by = derive_order_by(d, type_name);
    gql_buf text;
    gql_buf_init(&text);
    gql_buf_printf(&text, "(where: %s", where);
    if (order_by != NULL)
        gql_buf_printf(&text, ", orderBy: [%s!]", order_by);
    gql_buf_puts(&text, ", limit: Int, offset: Int)");
    insert(d, field->name_pos + (uint32_t) strlen(field->name), &text);
    gql_buf_free(&text);
    return true;
}

/* ------------------------------------------------------------------ CRUD */

static bool is_aggregate(const ast_field_def *field)
{
    for (size_t i = 0; i < sizeof AGGREGATE_DIRECTIVES / sizeof AGGREGATE_DIRECTIVES[0]; i++)
        if (field_directive(field, AGGREGATE_DIRECTIVES[i]) != NULL)
            return true;
    return false;
}

/* The fields of <T>CreateInput (with_id) or <T>Patch: the columns nullable, each @ref as <field>Id. */
static void input_fields(derive *d, const ast_definition *type, bool with_id, gql_buf *out)
{
    if (with_id)
        gql_buf_puts(out, "  id: ID\n");
    for (size_t f = 0; f < type->field_count; f++) {
        const ast_field_def *field = &type->fields[f];
        bool list;
        const char *type_name = named_type(field->type, &list);
        if (strcmp(field->name, "id") == 0 || field_directive(field, "many") != NULL || is_aggregate(field))
            continue;
        if (field_directive(field, "ref") != NULL) {
            gql_buf_printf(out, "  %sId: ID\n", field->name);
            continue;
        }
        const ast_definition *named = gql_map_get(&d->types, type_name);
        if (named != NULL && named->kind != AST_DEF_SCALAR && named->kind != AST_DEF_ENUM)
            continue; /* an object is no input */
        gql_buf_printf(out, "  %s: ", field->name);
        print_type(out, field->type->kind == AST_TYPE_NON_NULL ? field->type->inner : field->type);
        gql_buf_puts(out, "\n");
    }
}

/* The input type name unless it would have no field; derives it unless the file has it. */
static const char *derive_input(derive *d, const ast_definition *type, const char *suffix, bool with_id,
                                const char *description)
{
    const char *name = concat(d, type->name, suffix);
    if (type_exists(d, name))
        return name;
    gql_buf fields;
    gql_buf_init(&fields);
    input_fields(d, type, with_id, &fields);
    if (fields.len == 0) {
        gql_buf_free(&fields);
        return NULL;
    }
    mark_derived(d, name);
    gql_buf_printf(&d->tail, "\n\"%s\"\ninput %s {\n%s}\n", description, name, fields.data);
    gql_buf_free(&fields);
    return name;
}

static void upper_first(gql_buf *out, const char *name)
{
    char first = (char) toupper((unsigned char) name[0]);
    gql_buf_append(out, &first, 1);
    gql_buf_puts(out, name + 1);
}

/* One Mutation field mapped to <schema>.<function>, unless the file has a field of that name. */
static void mutation_field(derive *d, gql_buf *fields, const char *field_name, const char *arguments,
                           const char *returns, const char *schema, const char *function)
{
    if (gql_map_get(&d->mutation_fields, field_name) != NULL)
        return;
    gql_buf_printf(fields, " %s(%s): %s @sql(function: ", field_name, arguments, returns);
    const char *qualified = concat(d, concat(d, schema, "."), function);
    gql_buf_json_string(fields, qualified, strlen(qualified));
    gql_buf_puts(fields, ")");
}

/* Where text that goes before type's definition is to go in so that it stands in the line
 * of the `type` keyword. A description cannot stay before text put in there: it moves
 * after it (to text, as one string) and its own place turns blank, lines kept. */
static uint32_t keyword_line_start(derive *d, const ast_definition *type, gql_buf *text)
{
    if (type->description == NULL)
        return type->pos;
    uint32_t keyword = type->name_pos;
    while (keyword > type->pos && strchr(" \t\r\n,", d->text[keyword - 1]) != NULL)
        keyword--;
    if (keyword < type->pos + 4 || memcmp(d->text + keyword - 4, "type", 4) != 0)
        return type->pos;
    keyword -= 4;
    for (uint32_t i = type->pos; i < keyword; i++)
        if (d->text[i] != '\n' && d->text[i] != '\r')
            d->text[i] = ' ';
    gql_buf_json_string(text, type->description, strlen(type->description));
    gql_buf_puts(text, " ");
    return keyword;
}

/* The contract of declare/decl_sql.h for an @entity(crud: true) type, as an extension of
 * Mutation written in one line before the type, so its lines stay and messages about a
 * CRUD field name the type's line. */
static void add_crud(derive *d, const ast_definition *type)
{
    const ast_directive *entity = type_directive(type, "entity");
    const ast_value *crud = entity ? argument(entity, "crud") : NULL;
    if (crud == NULL || crud->kind != AST_VALUE_BOOLEAN || !crud->boolean)
        return;
    const char *schema, *entity_name;
    entity_names(d, type, &schema, &entity_name);
    const char *create_input = derive_input(d, type, "CreateInput", true,
                                            "The values of a new row; a column left out takes its default.");
    const char *patch = derive_input(d, type, "Patch",
                                     false, "The columns to change; one left out keeps its value, null clears it.");
    gql_buf fields, name, function, arguments;
    gql_buf_init(&fields);
    gql_buf_init(&name);
    gql_buf_init(&function);
    gql_buf_init(&arguments);
    static const char *const verbs[] = {"create", "update", "delete"};
    for (size_t v = 0; v < 3; v++) {
        gql_buf_reset(&name);
        gql_buf_reset(&function);
        gql_buf_reset(&arguments);
        gql_buf_printf(&name, "%s%s", verbs[v], type->name);
        gql_buf_printf(&function, "%s_%s", verbs[v], entity_name);
        if (v == 0 && create_input != NULL)
            gql_buf_printf(&arguments, "input: %s!", create_input);
        else if (v == 1 && patch != NULL)
            gql_buf_printf(&arguments, "id: ID!, patch: %s!", patch);
        else if (v == 2)
            gql_buf_puts(&arguments, "id: ID!");
        else
            continue;
        mutation_field(d, &fields, name.data, arguments.data, v == 2 ? "ID" : type->name, schema, function.data);
    }
    for (size_t f = 0; f < type->field_count; f++) {
        const ast_directive *many = field_directive(&type->fields[f], "many");
        if (many == NULL || argument(many, "through") == NULL)
            continue;
        for (size_t v = 0; v < 2; v++) {
            const char *verb = v == 0 ? "link" : "unlink";
            gql_buf_reset(&name);
            gql_buf_reset(&function);
            gql_buf_printf(&name, "%s%s", verb, type->name);
            upper_first(&name, type->fields[f].name);
            gql_buf_printf(&function, "%s_%s_", verb, entity_name);
            snake_case(&function, type->fields[f].name);
            mutation_field(d, &fields, name.data, "id: ID!, targetId: ID!", type->name, schema, function.data);
        }
    }
    if (fields.len > 0) {
        gql_buf text;
        gql_buf_init(&text);
        gql_buf_printf(&text, "%stype %s {%s } ", d->mutation_exists ? "extend " : "", d->mutation_name,
                       fields.data);
        insert(d, keyword_line_start(d, type, &text), &text);
        gql_buf_free(&text);
        d->mutation_exists = true;
        gql_map_put(&d->used, "sql", (void *) 1);
        if (d->schema_defined && !d->mutation_root) {
            gql_buf_printf(&d->tail, "\nextend schema { mutation: %s }\n", d->mutation_name);
            d->mutation_root = true;
        }
    }
    gql_buf_free(&fields);
    gql_buf_free(&name);
    gql_buf_free(&function);
    gql_buf_free(&arguments);
}

/* ------------------------------------------------------------------ the whole file */

static int compare_insertions(const void *a, const void *b)
{
    const insertion *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool derive_document(derive *d)
{
    read_document(d);
    for (size_t i = 0; i < d->doc->count; i++) {
        const ast_definition *definition = d->doc->definitions[i];
        if (definition->name == NULL || definition->kind == AST_DEF_DIRECTIVE)
            continue;
        if (!check_declared_type(d, definition))
            return false;
        /* for_each_field visits a type's extensions with it. */
        if (definition->kind == AST_DEF_OBJECT && !definition->extension &&
            !for_each_field(d, definition->name, check_field, NULL))
            return false;
    }
    for (size_t i = 0; i < d->doc->count; i++) {
        const ast_definition *definition = d->doc->definitions[i];
        if (definition->kind == AST_DEF_OBJECT && !definition->extension) {
            add_table(d, definition);
            add_crud(d, definition);
        }
    }
    if (!for_each_field(d, d->query_name, list_arguments, NULL))
        return false;
    write_pending_wheres(d);
    append_definitions(d, STANDARD_INPUTS_SDL, false);
    append_definitions(d, SERVER_DIRECTIVES_SDL, true);
    append_definitions(d, decl_directives_sdl, true);
    return true;
}

bool schema_derive(const char *source, size_t length, const char *path, gql_buf *out, char *error,
                   size_t error_size)
{
    gql_arena arena;
    gql_arena_init(&arena);
    gql_limits limits = {SIZE_MAX / 4, SIZE_MAX / 4, 512};
    gql_parse_error parse_error;
    ast_document *doc = gql_parse(&arena, source, length, &limits, &parse_error);
    if (doc == NULL) {
        gql_buf_append(out, source, length);
        gql_arena_free(&arena);
        return true;
    }
    char *text = gql_arena_alloc(&arena, length + 1);
    memcpy(text, source, length);
    text[length] = '\0';
    derive d = {.doc = doc, .source = source, .text = text, .length = length, .path = path, .error = error,
                .error_size = error_size, .arena = &arena};
    gql_map_init(&d.types);
    gql_map_init(&d.objects);
    gql_map_init(&d.object_tails);
    gql_map_init(&d.mutation_fields);
    gql_map_init(&d.derived);
    gql_map_init(&d.used);
    gql_map_init(&d.defined);
    gql_buf_init(&d.tail);
    bool ok = derive_document(&d);
    if (ok) {
        if (d.insertion_count > 1)
            qsort(d.insertions, d.insertion_count, sizeof *d.insertions, compare_insertions);
        size_t copied = 0;
        for (size_t i = 0; i < d.insertion_count; i++) {
            gql_buf_append(out, d.text + copied, d.insertions[i].pos - copied);
            copied = d.insertions[i].pos;
            gql_buf_puts(out, d.insertions[i].text);
        }
        gql_buf_append(out, d.text + copied, length - copied);
        if (d.tail.len > 0) {
            /* A comment on the file's last line must not swallow the derived text. */
            gql_buf_puts(out, "\n");
            gql_buf_append(out, d.tail.data, d.tail.len);
        }
    }
    for (size_t i = 0; i < d.insertion_count; i++)
        free(d.insertions[i].text);
    free(d.insertions);
    gql_buf_free(&d.tail);
    gql_map_free(&d.types);
    gql_map_free(&d.objects);
    gql_map_free(&d.object_tails);
    gql_map_free(&d.mutation_fields);
    free(d.pending_where);
    gql_map_free(&d.derived);
    gql_map_free(&d.used);
    gql_map_free(&d.defined);
    gql_arena_free(&arena);
    return ok;
}
