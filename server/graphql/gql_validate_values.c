/* gql_validate_values: the rules on type references, directives, arguments and input
 * values, and the recording of variable usages for the operation rules. */
#include "config.h"

#include "server/graphql/gql_validate_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the walk: types, directives,
 * arguments, values */

void gql_validate_known_type_name(vctx *c, const char *name, uint32_t pos, bool sdl)
{
    if (c->collecting || named_type(c, name) || gql_map_get(&c->defined_types, name))
        return;
    static const char *const standard[] = {
        "String", "Int", "Float", "Boolean", "ID", "__Schema", "__Type", "__TypeKind",
        "__Field", "__InputValue", "__EnumValue", "__Directive", "__DirectiveLocation"};
    size_t nstd = sizeof(standard) / sizeof(*standard);
    if (sdl)
        for (size_t i = 0; i < nstd; i++)
            if (!strcmp(standard[i], name))
                return;
    size_t count = gql_schema_type_count(c->schema);
    gql_vec options = {0};
    if (sdl)
        for (size_t i = 0; i < nstd; i++)
            gql_vec_push(&options, (void *)standard[i]);
    for (size_t i = 0; i < count; i++)
        gql_vec_push(&options, (void *)gql_schema_type_at(c->schema, i)->name);
    for (size_t i = 0; i < c->doc->count; i++) {
        const ast_definition *d = c->doc->definitions[i];
        if (d->kind != AST_DEF_OPERATION && d->kind != AST_DEF_FRAGMENT &&
            d->kind != AST_DEF_SCHEMA && d->kind != AST_DEF_DIRECTIVE && !d->extension)
            gql_vec_push(&options, (void *)d->name);
    }
    const char *dym = gql_validate_did_you_mean(c, NULL, name, (const char *const *)options.items,
                                   options.count);
    gql_vec_free(&options);
    report1(c, fmt(c, "Unknown type \"%s\".%s", name, dym), pos);
}

void gql_validate_walk_type_ref(vctx *c, const ast_type *t, bool sdl)
{
    while (t->kind != AST_TYPE_NAMED)
        t = t->inner;
    gql_validate_known_type_name(c, t->name, t->pos, sdl);
}

static const gql_directive_def *directive_def(vctx *c, const char *name)
{
    return gql_schema_directive(c->schema, name);
}

static bool directive_is_unique(vctx *c, const char *name)
{
    const ast_definition *dd = gql_map_get(&c->doc_directives, name);
    if (dd)
        return !dd->repeatable;
    const gql_directive_def *d = gql_schema_directive(c->schema, name);
    return d && !d->repeatable;
}

/* UniqueDirectivesPerLocation for one node's directives; `seen` is shared by every
 * definition and extension of one type (or of the schema), else NULL. Reports come after
 * the local map is freed: one may longjmp out (error limit). */
void gql_validate_unique_directives_in(vctx *c, const ast_directive *dirs, size_t count,
                                       gql_map *seen)
{
    if (c->collecting || count == 0)
        return;
    gql_map local = {0};
    if (!seen)
        seen = &local;
    uint32_t *first = gql_arena_alloc(&c->arena, count * sizeof(uint32_t));
    for (size_t i = 0; i < count; i++) {
        if (!directive_is_unique(c, dirs[i].name))
            continue;
        uintptr_t known = (uintptr_t)gql_map_get(seen, dirs[i].name);
        if (known)
            first[i] = (uint32_t)known;
        else
            gql_map_put(seen, dirs[i].name, (void *)(uintptr_t)(dirs[i].pos + 1));
    }
    gql_map_free(&local);
    for (size_t i = 0; i < count; i++)
        if (first[i])
            report2(c,
                    fmt(c, "The directive \"@%s\" can only be used once at this location.",
                        dirs[i].name),
                    first[i] - 1, dirs[i].pos);
}

void gql_validate_unique_directives(vctx *c, const ast_directive *dirs, size_t count)
{
    gql_validate_unique_directives_in(c, dirs, count, NULL);
}

/* UniqueArgumentNames for a field or directive: each duplicated name once, at its first
 * use, with every position; the error limit bounds the scans for positions. */
void gql_validate_unique_arguments(vctx *c, const ast_argument *args, size_t count)
{
    if (c->collecting || count < 2)
        return;
    const uint32_t *first = gql_validate_first_same_name(c, args, count, sizeof(*args),
                                                         offsetof(ast_argument, name));
    uint32_t *counts = gql_arena_alloc(&c->arena, count * sizeof(uint32_t));
    for (size_t i = 0; i < count; i++)
        counts[first[i]]++;
    for (size_t i = 0; i < count; i++) {
        if (first[i] != i || counts[i] < 2)
            continue;
        uint32_t *pos = gql_arena_alloc(&c->arena, counts[i] * sizeof(uint32_t));
        size_t n = 0;
        for (size_t k = i; k < count; k++)
            if (first[k] == i)
                pos[n++] = args[k].pos;
        gql_validate_report(c, fmt(c, "There can be only one argument named \"%s\".", args[i].name),
                            pos, n);
    }
}

const gql_input_value *gql_validate_find_input_value(const gql_input_value *values, size_t count,
                                               const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (!strcmp(values[i].name, name))
            return &values[i];
    return NULL;
}

static void print_ast_type(const ast_type *t, gql_buf *out)
{
    if (t->kind == AST_TYPE_NAMED) {
        gql_buf_puts(out, t->name);
    } else if (t->kind == AST_TYPE_LIST) {
        gql_buf_puts(out, "[");
        print_ast_type(t->inner, out);
        gql_buf_puts(out, "]");
    } else {
        print_ast_type(t->inner, out);
        gql_buf_puts(out, "!");
    }
}

bool gql_validate_argument_given(const ast_argument *args, size_t count, const char *name)
{
    for (size_t a = 0; a < count; a++)
        if (!strcmp(args[a].name, name))
            return true;
    return false;
}

void gql_validate_required_arguments(vctx *c, const char *kind, const char *sigil, const char *name,
                                     const gql_input_value *defs, size_t def_count,
                                     const ast_argument *args, size_t arg_count, uint32_t pos)
{
    for (size_t k = 0; k < def_count; k++) {
        const gql_input_value *ad = &defs[k];
        if (ad->type->kind != GQL_KIND_NON_NULL || ad->default_value ||
            gql_validate_argument_given(args, arg_count, ad->name))
            continue;
        report1(c,
                fmt(c, "%s \"%s%s\" argument \"%s\" of type \"%s\" is required, but it was not provided.",
                    kind, sigil, name, ad->name, type_str(c, ad->type)),
                pos);
    }
}

void gql_validate_walk_directives(vctx *c, const ast_directive *dirs, size_t count,
                            unsigned location)
{
    for (size_t i = 0; i < count; i++) {
        const ast_directive *d = &dirs[i];
        const gql_directive_def *def = directive_def(c, d->name);
        const ast_definition *doc_def = gql_map_get(&c->doc_directives, d->name);
        if (doc_def)
            def = NULL; /* the document's definition wins, as in graphql-js's maps */
        if (!c->collecting && doc_def) {
            if (location && !(doc_def->locations & location))
                report1(c, fmt(c, "Directive \"@%s\" may not be used on %s.", d->name,
                               gql_directive_location_name(location)),
                        d->pos);
            /* the document defines both lists: names found through a map (freed before any
             * report, which may longjmp) */
            bool *known = gql_arena_alloc(&c->arena, d->argument_count + 1);
            gql_map defined = {0};
            for (size_t k = 0; k < doc_def->input_value_count; k++)
                gql_map_put(&defined, doc_def->input_values[k].name, (void *)1);
            for (size_t a = 0; a < d->argument_count; a++)
                known[a] = gql_map_get(&defined, d->arguments[a].name) != NULL;
            gql_map_free(&defined);
            for (size_t a = 0; a < d->argument_count; a++) {
                if (known[a])
                    continue;
                const char **names =
                    gql_arena_alloc(&c->arena, (doc_def->input_value_count + 1) * sizeof(char *));
                for (size_t k = 0; k < doc_def->input_value_count; k++)
                    names[k] = doc_def->input_values[k].name;
                report1(c,
                        fmt(c, "Unknown argument \"%s\" on directive \"@%s\".%s",
                            d->arguments[a].name, d->name,
                            gql_validate_did_you_mean(c, NULL, d->arguments[a].name, names,
                                         doc_def->input_value_count)),
                        d->arguments[a].pos);
            }
            gql_validate_unique_arguments(c, d->arguments, d->argument_count);
        }
        if (!c->collecting && !doc_def) {
            /* KnownDirectives */
            if (!def)
                report1(c, fmt(c, "Unknown directive \"@%s\".", d->name), d->pos);
            else if (location && !(def->locations & location))
                report1(c, fmt(c, "Directive \"@%s\" may not be used on %s.", d->name,
                               gql_directive_location_name(location)),
                        d->pos);
            /* KnownArgumentNamesOnDirectives */
            if (def) {
                for (size_t a = 0; a < d->argument_count; a++) {
                    if (gql_validate_find_input_value(def->arguments, def->argument_count,
                                         d->arguments[a].name))
                        continue;
                    const char **names =
                        gql_arena_alloc(&c->arena, (def->argument_count + 1) * sizeof(char *));
                    for (size_t k = 0; k < def->argument_count; k++)
                        names[k] = def->arguments[k].name;
                    report1(c,
                            fmt(c, "Unknown argument \"%s\" on directive \"@%s\".%s",
                                d->arguments[a].name, d->name,
                                gql_validate_did_you_mean(c, NULL, d->arguments[a].name, names,
                                             def->argument_count)),
                            d->arguments[a].pos);
                }
            }
            gql_validate_unique_arguments(c, d->arguments, d->argument_count);
        }
        /* arguments: values typed by the directive's argument definitions */
        for (size_t a = 0; a < d->argument_count; a++) {
            const gql_input_value *ad =
                def ? gql_validate_find_input_value(def->arguments, def->argument_count,
                                                    d->arguments[a].name)
                    : NULL;
            gql_validate_walk_value(c, d->arguments[a].value, ad ? ad->type : NULL, NULL,
                       ad && ad->default_value, true);
        }
        /* ProvidedRequiredArguments (directives), on leave */
        if (!c->collecting && doc_def) {
            bool *given = gql_arena_alloc(&c->arena, doc_def->input_value_count + 1);
            gql_map arguments = {0};
            for (size_t a = 0; a < d->argument_count; a++)
                gql_map_put(&arguments, d->arguments[a].name, (void *)1);
            for (size_t k = 0; k < doc_def->input_value_count; k++)
                given[k] = gql_map_get(&arguments, doc_def->input_values[k].name) != NULL;
            gql_map_free(&arguments);
            for (size_t k = 0; k < doc_def->input_value_count; k++) {
                const ast_input_value_def *ad = &doc_def->input_values[k];
                if (ad->type->kind != AST_TYPE_NON_NULL || ad->default_value)
                    continue;
                if (!given[k]) {
                    gql_buf t;
                    gql_buf_init(&t);
                    print_ast_type(ad->type, &t);
                    /* into the arena before reporting: a report may longjmp (error limit) */
                    const char *message = fmt(c,
                                              "Directive \"@%s\" argument \"%s\" of type \"%s\" is required, "
                                              "but it was not provided.",
                                              d->name, ad->name, t.data);
                    gql_buf_free(&t);
                    report1(c, message, d->pos);
                }
            }
        }
        if (!c->collecting && def)
            gql_validate_required_arguments(c, "Directive", "@", d->name, def->arguments, def->argument_count,
                                            d->arguments, d->argument_count, d->pos);
    }
}

/* A DateTime refused: the message names where the value is (argument and input fields,
 * "where.createdAt.gt"), reported; false for any other type. */
static bool report_date_time(vctx *c, const gql_type *named, const char *message, uint32_t pos)
{
    if (!gql_scalar_is_date_time(named) || !message || !c->value_path.count)
        return false;
    gql_buf path;
    gql_buf_init(&path);
    for (size_t i = 0; i < c->value_path.count; i++)
        gql_buf_printf(&path, "%s%s", i ? "." : "", (const char *)c->value_path.items[i]);
    const char *text = fmt(c, "Invalid value for \"%s\": %s", path.data, message);
    gql_buf_free(&path);
    report1(c, text, pos);
    return true;
}

/* isValidValueNode of ValuesOfCorrectType. The texts move to the arena before any
 * report: a report may longjmp out (error limit), which would leak a heap buffer. */
static void check_leaf_value(vctx *c, const ast_value *v, const gql_type *location_type)
{
    if (c->collecting || !location_type)
        return;
    const gql_type *named = gql_type_named(location_type);
    gql_buf printed;
    gql_buf_init(&printed);
    gql_print_value(v, &printed);
    const char *printed_text = gql_arena_strdup(&c->arena, printed.data ? printed.data : "");
    gql_buf_free(&printed);
    if (!gql_type_is_leaf(named)) {
        report1(c, fmt(c, "Expected value of type \"%s\", found %s.", type_str(c, location_type), printed_text),
                v->pos);
        return;
    }
    gql_buf msg;
    gql_buf_init(&msg);
    bool valid = gql_leaf_parse_literal(named, v, &msg);
    const char *msg_text = msg.len ? gql_arena_strdup(&c->arena, msg.data) : NULL;
    gql_buf_free(&msg);
    if (!valid && report_date_time(c, named, msg_text, v->pos))
        return;
    if (!valid)
        report1(c, msg_text ? msg_text
                            : fmt(c, "Expected value of type \"%s\", found %s.", type_str(c, location_type),
                                  printed_text),
                v->pos);
}

static void record_usage(vctx *c, const ast_value *v, const gql_type *type,
                         const gql_type *parent_type, bool has_default)
{
    usage_list *l = c->collect_into;
    if (!c->collecting || !l)
        return;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = gql_xrealloc(l->items, l->cap * sizeof(usage));
    }
    l->items[l->count].node = v;
    l->items[l->count].type = type;
    l->items[l->count].has_location_default = has_default;
    l->items[l->count].parent_type = parent_type;
    l->count++;
}

/* `type` is TypeInfo's getInputType() at the node (for lists: before the item push),
 * `parent_type` its getParentInputType(); `check` is false inside values that
 * ValuesOfCorrectType stopped descending into. */
void gql_validate_walk_value(vctx *c, const ast_value *v, const gql_type *type,
                       const gql_type *parent_type, bool has_default, bool check)
{
    switch (v->kind) {
    case AST_VALUE_VARIABLE:
        record_usage(c, v, type, parent_type, has_default);
        return;
    case AST_VALUE_LIST: {
        const gql_type *list_type = nullable(type);
        const gql_type *item = list_type && list_type->kind == GQL_KIND_LIST ? list_type->of_type
                                                                             : list_type;
        if (item && !gql_type_is_input(item))
            item = NULL;
        bool descend = check;
        if (check && !(list_type && list_type->kind == GQL_KIND_LIST)) {
            check_leaf_value(c, v, item);
            descend = false;
        }
        for (size_t i = 0; i < v->count; i++)
            gql_validate_walk_value(c, v->items[i], item, type, false, descend);
        return;
    }
    case AST_VALUE_OBJECT: {
        const gql_type *named = gql_type_named(type);
        bool descend = check;
        /* UniqueInputFieldNames and OneOf's distinct keys, in linear time */
        const uint32_t *first =
            c->collecting ? NULL
                          : gql_validate_first_same_name(c, v->fields, v->count, sizeof(*v->fields),
                                                         offsetof(ast_object_field, name));
        if (check) {
            if (!named || named->kind != GQL_KIND_INPUT_OBJECT) {
                check_leaf_value(c, v, type);
                descend = false;
            } else if (!c->collecting) {
                for (size_t i = 0; i < named->input_field_count; i++) {
                    const gql_input_value *fd = &named->input_fields[i];
                    bool provided = false;
                    for (size_t k = 0; k < v->count; k++)
                        if (!strcmp(v->fields[k].name, fd->name))
                            provided = true;
                    if (!provided && fd->type->kind == GQL_KIND_NON_NULL && !fd->default_value)
                        report1(c,
                                fmt(c, "Field \"%s.%s\" of required type \"%s\" was not provided.",
                                    named->name, fd->name, type_str(c, fd->type)),
                                v->pos);
                }
                if (gql_directive_find(named->directives, named->directive_count, "oneOf")) {
                    size_t distinct = 0;
                    const ast_object_field *last = NULL;
                    for (size_t k = 0; k < v->count; k++)
                        if (first[k] == k)
                            distinct++;
                    for (size_t k = 0; k < v->count; k++)
                        if (v->count && !strcmp(v->fields[k].name, v->fields[0].name))
                            last = &v->fields[k];
                    if (distinct != 1)
                        report1(c,
                                fmt(c, "OneOf Input Object \"%s\" must specify exactly one key.",
                                    named->name),
                                v->pos);
                    else if (!last || last->value->kind == AST_VALUE_NULL)
                        report1(c, fmt(c, "Field \"%s.%s\" must be non-null.", named->name,
                                       v->fields[0].name),
                                v->pos);
                }
            }
        }
        for (size_t i = 0; i < v->count; i++) {
            const ast_object_field *f = &v->fields[i];
            const gql_type *ft = NULL;
            const gql_input_value *fd = NULL;
            if (named && named->kind == GQL_KIND_INPUT_OBJECT) {
                fd = gql_validate_find_input_value(named->input_fields, named->input_field_count,
                                                   f->name);
                ft = fd ? fd->type : NULL;
            }
            if (descend && !c->collecting && !ft && named &&
                named->kind == GQL_KIND_INPUT_OBJECT) {
                const char **names =
                    gql_arena_alloc(&c->arena, (named->input_field_count + 1) * sizeof(char *));
                for (size_t k = 0; k < named->input_field_count; k++)
                    names[k] = named->input_fields[k].name;
                report1(c,
                        fmt(c, "Field \"%s\" is not defined by type \"%s\".%s", f->name,
                            named->name,
                            gql_validate_did_you_mean(c, NULL, f->name, names,
                                                      named->input_field_count)),
                        f->pos);
            }
            /* UniqueInputFieldNames */
            if (!c->collecting && first[i] != i)
                report2(c, fmt(c, "There can be only one input field named \"%s\".", f->name),
                        v->fields[first[i]].pos, f->pos);
            gql_vec_push(&c->value_path, (void *)f->name);
            gql_validate_walk_value(c, f->value, ft, type, fd && fd->default_value, descend);
            c->value_path.count--;
        }
        return;
    }
    case AST_VALUE_NULL:
        if (check && !c->collecting && type && type->kind == GQL_KIND_NON_NULL)
            report1(c, fmt(c, "Expected value of type \"%s\", found null.", type_str(c, type)),
                    v->pos);
        return;
    default:
        /* "\u0000" decodes to a NUL byte: cut at it, the value would be stored short */
        if (v->kind == AST_VALUE_STRING && !c->collecting && !gql_values_graphql_js() &&
            memchr(v->text, '\0', v->text_length))
            report1(c,
                    "String value contains U+0000 (NUL), which PostgreSQL text cannot store: "
                    "remove it.",
                    v->pos);
        if (check)
            check_leaf_value(c, v, type);
        return;
    }
}
