/* gql_introspection: __schema, __type and the introspection types' fields, resolved from
 * the schema itself during execution. */
#include "config.h"

#include "server/graphql/gql_exec_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ introspection */

static const char *const type_kind_names[] = {"SCALAR", "OBJECT",       "INTERFACE", "UNION",
                                              "ENUM",   "INPUT_OBJECT", "LIST",      "NON_NULL"};

static bool include_deprecated(exec_ctx *c, const gql_plan_field *f)
{
    const cJSON *args = gql_request_arguments(c->request, f, NULL);
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "includeDeprecated"));
}

static xvalue input_value_list(exec_ctx *c, const gql_input_value *values, size_t count,
                               bool with_deprecated)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (with_deprecated || !values[i].deprecation_reason)
            n++;
    xvalue list = xv_list(c, n);
    n = 0;
    for (size_t i = 0; i < count; i++)
        if (with_deprecated || !values[i].deprecation_reason)
            list.items[n++] = xv_intro(INTRO_INPUT_VALUE, &values[i]);
    return list;
}

static xvalue type_list(exec_ctx *c, const gql_type *const *types, size_t count)
{
    xvalue list = xv_list(c, count);
    for (size_t i = 0; i < count; i++)
        list.items[i] = xv_intro(INTRO_TYPE, types[i]);
    return list;
}

xvalue gql_introspection_resolve(exec_ctx *c, const xvalue *src, const gql_plan_field *f)
{
    const gql_schema *s = c->request->prepared->schema;
    const char *name = f->name;
    switch (src->intro) {
    case INTRO_SCHEMA:
        if (!strcmp(name, "description"))
            return xv_string(c, s->description);
        if (!strcmp(name, "types"))
            return type_list(c, (const gql_type *const *)s->types, s->type_count);
        if (!strcmp(name, "queryType"))
            return xv_intro(INTRO_TYPE, s->query);
        if (!strcmp(name, "mutationType"))
            return xv_intro(INTRO_TYPE, s->mutation);
        if (!strcmp(name, "subscriptionType"))
            return xv_intro(INTRO_TYPE, s->subscription);
        if (!strcmp(name, "directives")) {
            xvalue list = xv_list(c, s->directive_count);
            for (size_t i = 0; i < s->directive_count; i++)
                list.items[i] = xv_intro(INTRO_DIRECTIVE, s->directives[i]);
            return list;
        }
        break;
    case INTRO_TYPE: {
        const gql_type *t = src->ptr;
        bool object_like = t->kind == GQL_KIND_OBJECT || t->kind == GQL_KIND_INTERFACE;
        if (!strcmp(name, "kind"))
            return xv_string(c, type_kind_names[t->kind]);
        if (!strcmp(name, "name"))
            return xv_string(c, t->name);
        if (!strcmp(name, "description"))
            return xv_string(c, t->name ? t->description : NULL);
        if (!strcmp(name, "specifiedByURL"))
            return xv_string(c, t->kind == GQL_KIND_SCALAR ? t->specified_by_url : NULL);
        if (!strcmp(name, "fields")) {
            if (!object_like)
                return xv_json(NULL);
            bool all = include_deprecated(c, f);
            size_t n = 0;
            for (size_t i = 0; i < t->field_count; i++)
                if (all || !t->fields[i].deprecation_reason)
                    n++;
            xvalue list = xv_list(c, n);
            n = 0;
            for (size_t i = 0; i < t->field_count; i++)
                if (all || !t->fields[i].deprecation_reason)
                    list.items[n++] = xv_intro(INTRO_FIELD, &t->fields[i]);
            return list;
        }
        if (!strcmp(name, "interfaces"))
            return object_like ? type_list(c, t->interfaces, t->interface_count) : xv_json(NULL);
        if (!strcmp(name, "possibleTypes"))
            return gql_type_is_abstract(t)
                       ? type_list(c, t->possible_types, t->possible_type_count)
                       : xv_json(NULL);
        if (!strcmp(name, "enumValues")) {
            if (t->kind != GQL_KIND_ENUM)
                return xv_json(NULL);
            bool all = include_deprecated(c, f);
            size_t n = 0;
            for (size_t i = 0; i < t->enum_value_count; i++)
                if (all || !t->enum_values[i].deprecation_reason)
                    n++;
            xvalue list = xv_list(c, n);
            n = 0;
            for (size_t i = 0; i < t->enum_value_count; i++)
                if (all || !t->enum_values[i].deprecation_reason)
                    list.items[n++] = xv_intro(INTRO_ENUM_VALUE, &t->enum_values[i]);
            return list;
        }
        if (!strcmp(name, "inputFields"))
            return t->kind == GQL_KIND_INPUT_OBJECT
                       ? input_value_list(c, t->input_fields, t->input_field_count,
                                          include_deprecated(c, f))
                       : xv_json(NULL);
        if (!strcmp(name, "ofType"))
            return xv_intro(INTRO_TYPE, t->of_type);
        if (!strcmp(name, "isOneOf"))
            return t->kind == GQL_KIND_INPUT_OBJECT
                       ? xv_bool(c, gql_directive_find(t->directives, t->directive_count,
                                                       "oneOf") != NULL)
                       : xv_json(NULL);
        break;
    }
    case INTRO_FIELD: {
        const gql_field *fd = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, fd->name);
        if (!strcmp(name, "description"))
            return xv_string(c, fd->description);
        if (!strcmp(name, "args"))
            return input_value_list(c, fd->arguments, fd->argument_count,
                                    include_deprecated(c, f));
        if (!strcmp(name, "type"))
            return xv_intro(INTRO_TYPE, fd->type);
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, fd->deprecation_reason != NULL);
        if (!strcmp(name, "deprecationReason"))
            return xv_string(c, fd->deprecation_reason);
        break;
    }
    case INTRO_INPUT_VALUE: {
        const gql_input_value *iv = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, iv->name);
        if (!strcmp(name, "description"))
            return xv_string(c, iv->description);
        if (!strcmp(name, "type"))
            return xv_intro(INTRO_TYPE, iv->type);
        if (!strcmp(name, "defaultValue")) {
            if (!iv->default_value)
                return xv_json(NULL);
            gql_buf b;
            gql_buf_init(&b);
            xvalue v = xv_json(NULL);
            if (gql_print_input_value(iv->default_value, iv->type, &b))
                v = xv_string(c, b.data);
            gql_buf_free(&b);
            return v;
        }
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, iv->deprecation_reason != NULL);
        if (!strcmp(name, "deprecationReason"))
            return xv_string(c, iv->deprecation_reason);
        break;
    }
    case INTRO_ENUM_VALUE: {
        const gql_enum_value *ev = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, ev->name);
        if (!strcmp(name, "description"))
            return xv_string(c, ev->description);
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, ev->deprecation_reason != NULL);
        if (!strcmp(name, "deprecationReason"))
            return xv_string(c, ev->deprecation_reason);
        break;
    }
    case INTRO_DIRECTIVE: {
        const gql_directive_def *d = src->ptr;
        if (!strcmp(name, "name"))
            return xv_string(c, d->name);
        if (!strcmp(name, "description"))
            return xv_string(c, d->description);
        if (!strcmp(name, "isRepeatable"))
            return xv_bool(c, d->repeatable);
        if (!strcmp(name, "locations")) {
            xvalue list = xv_list(c, d->location_count);
            for (size_t i = 0; i < d->location_count; i++)
                list.items[i] = xv_string(c, gql_directive_location_name(d->location_order[i]));
            return list;
        }
        if (!strcmp(name, "args"))
            return input_value_list(c, d->arguments, d->argument_count,
                                    include_deprecated(c, f));
        if (!strcmp(name, "isDeprecated"))
            return xv_bool(c, false);
        if (!strcmp(name, "deprecationReason"))
            return xv_json(NULL);
        break;
    }
    }
    return xv_json(NULL);
}
