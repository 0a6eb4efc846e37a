/* gql_request: one request on a prepared document: variable coercion (a fast path into
 * the request's one block, else the general coerceVariableValues), plans and arguments. */
#include "config.h"

#include "server/graphql/gql_exec_internal.h"
#include "server/graphql/gql_date_time.h"
#include "server/graphql/gql_json_read.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ variables */

typedef struct var_error_ctx {
    cJSON *errors;
    const gql_prepared *prepared;
    const ast_variable_definition *definition;
} var_error_ctx;

static void variable_coerce_error(void *context, const cJSON *path, const cJSON *invalid,
                                  const char *message)
{
    var_error_ctx *c = context;
    gql_buf msg;
    gql_buf_init(&msg);
    gql_buf_printf(&msg, "Variable \"$%s\" got invalid value ", c->definition->name);
    gql_inspect(invalid, &msg);
    if (cJSON_GetArraySize(path) > 0) {
        gql_buf_printf(&msg, " at \"%s", c->definition->name);
        gql_print_path_array(path, &msg);
        gql_buf_puts(&msg, "\"");
    }
    gql_buf_puts(&msg, "; ");
    gql_buf_puts(&msg, message);
    gql_exec_error_at(c->errors, msg.data, c->prepared, c->definition->pos);
    gql_buf_free(&msg);
}

/* The fast path only needs to know that coercion failed: the general path then reports. */
static void variable_fast_error(void *context, const cJSON *path, const cJSON *invalid,
                                const char *message)
{
    (void)path;
    (void)invalid;
    (void)message;
    *(bool *)context = true;
}

/* coerceVariableValues; returns NULL (errors appended) on failure. */
static cJSON *coerce_variables(const gql_prepared *p, gql_arena *arena, const cJSON *inputs,
                               cJSON *errors)
{
    cJSON *coerced = cJSON_CreateObject();
    int before = cJSON_GetArraySize(errors);
    const ast_definition *op = p->operation;
    /* Many inputs: found through a map (the first of a repeated name wins, as with
     * cJSON_GetObjectItemCaseSensitive), not by a scan per definition. */
    gql_map by_name = {0};
    if (op->variable_count > REQUEST_FAST_VARIABLES && cJSON_IsObject(inputs))
        for (const cJSON *input = inputs->child; input; input = input->next)
            if (input->string && !gql_map_get(&by_name, input->string))
                gql_map_put(&by_name, input->string, (void *)input);
    for (size_t i = 0; i < op->variable_count; i++) {
        const ast_variable_definition *vd = &op->variables[i];
        gql_buf msg;
        gql_buf_init(&msg);
        const gql_type *type = p->variable_types[i];
        if (!type || !gql_type_is_input(type)) {
            /* validation rejects this; kept for completeness */
            gql_buf_printf(&msg, "Variable \"$%s\" expected value of type \"", vd->name);
            gql_buf_puts(&msg, "\" which cannot be used as an input type.");
            gql_exec_error_at(errors, msg.data, p, vd->type->pos);
            gql_buf_free(&msg);
            continue;
        }
        const cJSON *value = by_name.cap   ? gql_map_get(&by_name, vd->name)
                             : inputs ? cJSON_GetObjectItemCaseSensitive(inputs, vd->name)
                                      : NULL;
        if (!value) {
            if (vd->default_value) {
                cJSON *v = NULL;
                if (gql_value_from_ast(vd->default_value, type, NULL, &v))
                    cJSON_AddItemToObject(coerced, vd->name, v);
            } else if (type->kind == GQL_KIND_NON_NULL) {
                gql_buf_printf(&msg, "Variable \"$%s\" of required type \"", vd->name);
                gql_type_print(type, &msg);
                gql_buf_puts(&msg, "\" was not provided.");
                gql_exec_error_at(errors, msg.data, p, vd->pos);
            }
            gql_buf_free(&msg);
            continue;
        }
        if (cJSON_IsNull(value) && type->kind == GQL_KIND_NON_NULL) {
            gql_buf_printf(&msg, "Variable \"$%s\" of non-null type \"", vd->name);
            gql_type_print(type, &msg);
            gql_buf_puts(&msg, "\" must not be null.");
            gql_exec_error_at(errors, msg.data, p, vd->pos);
            gql_buf_free(&msg);
            continue;
        }
        gql_buf_free(&msg);
        var_error_ctx ctx = {errors, p, vd};
        cJSON *v = gql_coerce_input_value(value, type, variable_coerce_error, &ctx);
        if (v)
            cJSON_AddItemToObject(coerced, vd->name, v);
    }
    gql_map_free(&by_name);
    if (cJSON_GetArraySize(errors) != before) {
        cJSON_Delete(coerced);
        return NULL;
    }
    return coerced;
}

/* ------------------------------------------------------------------ requests */

/* cJSON's type of a value (cJSON_Invalid for NULL), without a call into the library. */
static inline int json_type(const cJSON *item)
{
    return item ? item->type & 0xFF : cJSON_Invalid;
}

/* Variable names are short: a byte loop beats a call to strcmp here. */
static inline bool names_equal(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Fast coercion of the variables straight into the request's own block: one leaf node per
 * variable, strings copied into the block. Returns false, with nothing to undo but the general
 * values already attached (freed by gql_request_free), whenever the value is anything but
 * plainly valid: the general path then redoes the whole coercion and words the errors. */
static bool coerce_variables_fast(gql_request *r, const cJSON **values, const size_t *lengths)
{
    const gql_prepared *p = r->prepared;
    cJSON *root = &r->nodes[0];
    memset(root, 0, sizeof(*root));
    root->type = cJSON_Object;
    cJSON *last = NULL;
    char *strings = r->strings;
    for (size_t i = 0; i < p->variable_count; i++) {
        const var_plan *v = &p->variables[i];
        const cJSON *input = values[i];
        cJSON *node = &r->nodes[i + 1];
        if (!input) {
            if (!v->has_default) {
                if (v->non_null)
                    return false; /* "was not provided" */
                continue;
            }
            /* shares the prepared's default (read-only, outlives the request) */
            *node = *v->default_value;
            node->next = node->prev = NULL;
        } else if (json_type(input) == cJSON_NULL) {
            if (v->non_null)
                return false; /* "must not be null" */
            *node = (cJSON){.type = cJSON_NULL};
        } else {
            *node = (cJSON){0};
            int type = json_type(input);
            bool is_string = type == cJSON_String, is_number = type == cJSON_Number;
            bool is_bool = type == cJSON_True || type == cJSON_False;
            double d = input->valuedouble;
            switch (v->kind) {
            case VAR_ID:
            case VAR_STRING:
                if (!is_string)
                    return false; /* an ID from an integer, or an error: general path */
                node->type = cJSON_String;
                break;
            case VAR_ENUM:
                if (!is_string)
                    return false;
                {
                    bool known = false;
                    for (size_t e = 0; e < v->named->enum_value_count && !known; e++)
                        known = strcmp(v->named->enum_values[e].name, input->valuestring) == 0;
                    if (!known)
                        return false;
                }
                node->type = cJSON_String;
                break;
            case VAR_INT:
                /* in range (NaN is not) and integral: what GraphQLInt's parseValue accepts */
                if (!is_number || !(d >= -2147483648.0 && d <= 2147483647.0) ||
                    (double)(int32_t)d != d)
                    return false;
                node->type = cJSON_Number;
                node->valuedouble = d;
                node->valueint = (int)d;
                break;
            case VAR_FLOAT:
                if (!is_number || !isfinite(d))
                    return false;
                node->type = cJSON_Number;
                node->valuedouble = d;
                node->valueint = d >= 2147483647.0 ? 2147483647 : d <= -2147483648.0 ? (-2147483647 - 1) : (int)d;
                break;
            case VAR_BOOLEAN:
                if (!is_bool)
                    return false;
                node->type = type;
                break;
            case VAR_CUSTOM:
                if (v->date_time && !(is_string && gql_date_time_valid(input->valuestring)))
                    return false; /* the general path reports it */
                if (is_string) {
                    node->type = cJSON_String;
                } else if (is_number || is_bool) {
                    node->type = type;
                    node->valuedouble = input->valuedouble;
                    node->valueint = input->valueint;
                    if (is_number && input->valuestring) {
                        /* a Decimal's digits, copied as strings are (the request keeps
                         * nothing of its input) */
                        memcpy(strings, input->valuestring, lengths[i]);
                        node->valuestring = strings;
                        strings += lengths[i];
                    }
                } else {
                    node = NULL; /* objects and lists: copied by the general coercion */
                }
                break;
            case VAR_GENERAL:
                node = NULL;
                break;
            }
            if (node == NULL) {
                bool failed = false;
                node = gql_coerce_input_value(input, v->type, variable_fast_error, &failed);
                if (node == NULL)
                    return false;
                if (node->string && !(node->type & cJSON_StringIsConst))
                    cJSON_free(node->string); /* a copy of the input's key: named below */
                node->string = NULL;
                r->owned[i] = node;
            } else if (node->type == cJSON_String) {
                size_t length = lengths[i];
                memcpy(strings, input->valuestring, length);
                node->valuestring = strings;
                strings += length;
            }
        }
        node->string = (char *)v->name;
        node->type |= cJSON_StringIsConst;
        node->prev = last ? NULL : node; /* cJSON keeps the last child in child->prev */
        if (last) {
            last->next = node;
            node->prev = last;
            root->child->prev = node;
        } else {
            root->child = node;
        }
        last = node;
    }
    r->variables = root;
    return true;
}

/* Frees the values the general coercion attached to the fast variables object. */
static void release_owned_variables(gql_request *r)
{
    if (!r->owned)
        return;
    for (size_t i = 0; i < r->prepared->variable_count; i++)
        if (r->owned[i]) {
            r->owned[i]->next = r->owned[i]->prev = NULL;
            r->owned[i]->type &= ~cJSON_StringIsConst;
            r->owned[i]->string = NULL;
            cJSON_Delete(r->owned[i]);
            r->owned[i] = NULL;
        }
}

/* True when no earlier member of `object` has `member`'s name (JSON objects may repeat keys). */
static bool first_with_name(const cJSON *object, const cJSON *member)
{
    for (const cJSON *item = object->child; item != member; item = item->next)
        if (item->string && names_equal(item->string, member->string))
            return false;
    return true;
}

/* The request and everything a request with a cached plan needs come in one allocation:
 * the variables' nodes, their strings and the argument slots. `values[i]` is the input value
 * of variable i (NULL when absent). */
static gql_request *request_alloc(gql_prepared *p, const cJSON *inputs, const cJSON **values,
                                  size_t *lengths, bool *fast)
{
    size_t variables = p->variable_count, string_bytes = 0;
    *fast = !p->variables_general && variables <= REQUEST_FAST_VARIABLES;
    if (*fast) {
        /* Clients send the variables in declaration order: try the next input first. The
         * first match wins, as with cJSON_GetObjectItemCaseSensitive. */
        const cJSON *next = json_type(inputs) == cJSON_Object ? inputs->child : NULL;
        for (size_t i = 0; i < variables; i++) {
            const char *name = p->variables[i].name;
            const cJSON *found = NULL;
            if (next && next->string && names_equal(next->string, name) &&
                first_with_name(inputs, next))
                found = next;
            else if (inputs)
                found = cJSON_GetObjectItemCaseSensitive(inputs, name);
            values[i] = found;
            next = found ? found->next : NULL;
            if (json_type(found) == cJSON_String ||
                (p->variables[i].kind == VAR_CUSTOM && gql_json_number_text(found))) {
                lengths[i] = strlen(found->valuestring) + 1;
                string_bytes += lengths[i];
            }
        }
    }
    size_t fields = p->static_plan ? p->static_plan->field_total + 1 : 0;
    size_t node_count = *fast ? variables + 1 : 0;
    size_t size = sizeof(gql_request) + node_count * sizeof(cJSON) +
                  (*fast ? variables : 0) * sizeof(cJSON *) + fields * sizeof(cJSON *) +
                  string_bytes;
    deferred_releases *d = &gql_exec_thread;
    gql_request *r;
    if (d->spare_request && d->spare_request_size >= size) {
        r = d->spare_request;
        size = d->spare_request_size;
        d->spare_request = NULL;
    } else {
        r = gql_xmalloc(size);
    }
    /* field by field: a memset of the struct compiles to a slow `rep stos` */
    r->prepared = gql_prepared_ref(p);
    r->variables = NULL;
    r->variables_owned = false;
    r->arguments_made = false;
    r->plan = NULL;
    r->arguments = NULL;
    r->owned = NULL;
    r->block_size = size;
    unsigned char *block = (unsigned char *)(r + 1);
    r->nodes = (cJSON *)block;
    block += node_count * sizeof(cJSON);
    if (*fast) {
        r->owned = (cJSON **)block;
        memset(r->owned, 0, variables * sizeof(cJSON *));
        block += variables * sizeof(cJSON *);
    }
    if (fields) {
        r->arguments = (cJSON **)block;
        memset(r->arguments, 0, fields * sizeof(cJSON *));
        block += fields * sizeof(cJSON *);
    }
    r->strings = (char *)block;
    gql_arena_init(&r->arena);
    return r;
}

gql_request *gql_request_new(gql_prepared *prepared, const cJSON *variables, cJSON **errors)
{
    if (errors)
        *errors = NULL;
    const cJSON *values[REQUEST_FAST_VARIABLES + 1];
    size_t lengths[REQUEST_FAST_VARIABLES + 1];
    bool fast;
    gql_request *r = request_alloc(prepared, variables, values, lengths, &fast);
    cJSON *errs = NULL;
    if (!fast || !coerce_variables_fast(r, values, lengths)) {
        /* the general path: every error, worded as graphql-js words it */
        release_owned_variables(r);
        r->owned = NULL;
        errs = cJSON_CreateArray();
        r->variables = coerce_variables(prepared, &r->arena, variables, errs);
        r->variables_owned = true;
        if (!r->variables)
            goto fail;
    }
    if (!prepared->root_type) {
        const char *op = prepared->operation->operation == GQL_OPERATION_MUTATION
                             ? "mutation" : "subscription";
        gql_buf msg;
        gql_buf_init(&msg);
        gql_buf_printf(&msg, "Schema is not configured to execute %s operation.", op);
        if (!errs)
            errs = cJSON_CreateArray();
        gql_exec_error_at(errs, msg.data, prepared, prepared->operation->pos);
        gql_buf_free(&msg);
        goto fail;
    }
    if (prepared->operation->operation == GQL_OPERATION_SUBSCRIPTION) {
        if (!errs)
            errs = cJSON_CreateArray();
        gql_exec_error_at(errs, "Subscription operations are not supported by this server.", prepared,
                 prepared->operation->pos);
        goto fail;
    }
    if (prepared->static_plan) {
        r->plan = prepared->static_plan;
    } else {
        if (!errs)
            errs = cJSON_CreateArray();
        r->plan = gql_plan_build(prepared, &r->arena, r->variables, errs);
        if (!r->plan)
            goto fail;
        r->arguments = gql_arena_alloc(&r->arena, (r->plan->field_total + 1) * sizeof(cJSON *));
    }
    cJSON_Delete(errs);
    return r;
fail:
    if (errors)
        *errors = errs;
    else
        cJSON_Delete(errs);
    gql_request_free(r);
    return NULL;
}

gql_request *gql_request_new_json(gql_prepared *prepared, const char *variables_json,
                                  cJSON **errors)
{
    cJSON *vars = NULL;
    if (variables_json && *variables_json) {
        vars = cJSON_Parse(variables_json);
        if (!vars || (!cJSON_IsObject(vars) && !cJSON_IsNull(vars))) {
            cJSON_Delete(vars);
            if (errors) {
                *errors = cJSON_CreateArray();
                gql_error_append(*errors, "Variables are invalid JSON.");
            }
            return NULL;
        }
    }
    gql_request *r = gql_request_new(prepared, cJSON_IsObject(vars) ? vars : NULL, errors);
    cJSON_Delete(vars);
    return r;
}

void gql_request_free(gql_request *r)
{
    if (!r)
        return;
    if (r->arguments && r->plan && r->arguments_made)
        for (size_t i = 0; i < r->plan->field_total; i++)
            cJSON_Delete(r->arguments[i]);
    if (r->variables_owned)
        cJSON_Delete(r->variables);
    else
        release_owned_variables(r);
    gql_arena_free(&r->arena);
    gql_prepared_release(r->prepared);
    deferred_releases *d = &gql_exec_thread;
    if (!d->spare_request && r->block_size <= SPARE_REQUEST_MAX) {
        gql_exec_thread_register(d);
        d->spare_request = r;
        d->spare_request_size = r->block_size;
    } else {
        free(r);
    }
}

gql_operation_type gql_request_operation_type(const gql_request *r)
{
    return r->prepared->operation->operation;
}

const gql_type *gql_request_root_type(const gql_request *r)
{
    return r->prepared->root_type;
}

const gql_plan_field *gql_request_fields(const gql_request *r, size_t *count)
{
    *count = r->plan->root.field_count;
    return r->plan->root.fields;
}

const cJSON *gql_request_variables(const gql_request *r)
{
    return r->variables;
}

static const ast_argument *argument_node(const ast_selection *node, const char *name)
{
    for (size_t i = 0; i < node->argument_count; i++)
        if (strcmp(node->arguments[i].name, name) == 0)
            return &node->arguments[i];
    return NULL;
}

/* getArgumentValues; on failure *error_pos is where graphql-js locates the error (the field
 * for a missing argument, else the argument's value). */
const cJSON *gql_request_arguments_at(gql_request *r, const gql_plan_field *field, char **error,
                                 uint32_t *error_pos)
{
    if (error)
        *error = NULL;
    if (r->arguments[field->index])
        return r->arguments[field->index];
    cJSON *args = cJSON_CreateObject();
    const ast_selection *node = r->plan->nodes[field->index];
    const gql_field *def = field->definition;
    gql_buf msg;
    gql_buf_init(&msg);
    *error_pos = node->pos;
    for (size_t i = 0; def && i < def->argument_count; i++) {
        const gql_input_value *ad = &def->arguments[i];
        const ast_argument *an = argument_node(node, ad->name);
        if (!an) {
            *error_pos = node->pos;
            if (ad->default_value)
                cJSON_AddItemToObject(args, ad->name, cJSON_Duplicate(ad->default_value, true));
            else if (ad->type->kind == GQL_KIND_NON_NULL) {
                gql_buf_printf(&msg, "Argument \"%s\" of required type \"", ad->name);
                gql_type_print(ad->type, &msg);
                gql_buf_puts(&msg, "\" was not provided.");
                goto fail;
            }
            continue;
        }
        *error_pos = an->value->pos;
        bool is_null = an->value->kind == AST_VALUE_NULL;
        if (an->value->kind == AST_VALUE_VARIABLE) {
            const cJSON *vv = cJSON_GetObjectItemCaseSensitive(r->variables, an->value->text);
            if (!vv) {
                if (ad->default_value)
                    cJSON_AddItemToObject(args, ad->name,
                                          cJSON_Duplicate(ad->default_value, true));
                else if (ad->type->kind == GQL_KIND_NON_NULL) {
                    gql_buf_printf(&msg, "Argument \"%s\" of required type \"", ad->name);
                    gql_type_print(ad->type, &msg);
                    gql_buf_printf(&msg, "\" was provided the variable \"$%s\" which was not "
                                         "provided a runtime value.", an->value->text);
                    goto fail;
                }
                continue;
            }
            is_null = cJSON_IsNull(vv);
        }
        if (is_null && ad->type->kind == GQL_KIND_NON_NULL) {
            gql_buf_printf(&msg, "Argument \"%s\" of non-null type \"", ad->name);
            gql_type_print(ad->type, &msg);
            gql_buf_puts(&msg, "\" must not be null.");
            goto fail;
        }
        cJSON *v = NULL;
        if (!gql_value_from_ast(an->value, ad->type, r->variables, &v)) {
            gql_buf_printf(&msg, "Argument \"%s\" has invalid value ", ad->name);
            gql_print_value(an->value, &msg);
            gql_buf_puts(&msg, ".");
            goto fail;
        }
        cJSON_AddItemToObject(args, ad->name, v);
    }
    gql_buf_free(&msg);
    r->arguments[field->index] = args;
    r->arguments_made = true;
    return args;
fail:
    if (error)
        *error = gql_xstrdup(msg.data);
    gql_buf_free(&msg);
    cJSON_Delete(args);
    return NULL;
}

const cJSON *gql_request_arguments(gql_request *r, const gql_plan_field *field, char **error)
{
    uint32_t pos;
    return gql_request_arguments_at(r, field, error, &pos);
}

