/* gql_exec: execution of a request's plan over JSON sources and the schema itself: value
 * completion, leaf serialization, root fields set one by one, and the response. */
#include "config.h"

#include "server/graphql/gql_exec_internal.h"
#include "server/graphql/gql_json_read.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ completion */

/* The introspection types by intro_kind, for the runtime type of an introspection value. */
static const char *const intro_type_names[] = {"__Schema",     "__Type",      "__Field",
                                               "__InputValue", "__EnumValue", "__Directive"};

static completion complete_value(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                 const xvalue *v);

static bool execute_selection(exec_ctx *c, const gql_plan_selection *sel, const xvalue *src);

/* JavaScript's Number(string) for the scalar serializers. */
static bool js_number_from_string(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        s++;
    if (!*s) {
        *out = 0;
        return true;
    }
    char *end;
    double d;
    if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ) {
        d = (double)strtoull(s + 2, &end, 16);
    } else if (!strncmp(s, "Infinity", 8) || !strncmp(s, "+Infinity", 9) ||
               !strncmp(s, "-Infinity", 9)) {
        d = s[0] == '-' ? -INFINITY : INFINITY;
        end = (char *)s + (s[0] == 'I' ? 8 : 9);
    } else {
        if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.'))
            return false;
        d = strtod(s, &end);
    }
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end)
        return false;
    *out = d;
    return true;
}

static bool is_js_integer(double d)
{
    return isfinite(d) && floor(d) == d;
}

static completion leaf_error(exec_ctx *c, const gql_plan_field *f, const char *prefix,
                             const cJSON *value)
{
    gql_buf msg;
    gql_buf_init(&msg);
    gql_buf_puts(&msg, prefix);
    gql_inspect(value, &msg);
    field_error(c, f, msg.data);
    gql_buf_free(&msg);
    return FAILED;
}

static bool number_text_is_zero(const char *digits)
{
    for (; *digits && *digits != 'e' && *digits != 'E'; digits++)
        if (*digits >= '1' && *digits <= '9')
            return false;
    return true;
}

/* A number read with its digits (gql_json_read) as built-in scalar `n`: answered from those
 * digits, never through a double. Int keeps the spec's 32-bit range, decided exactly. */
static completion serialize_number_text(exec_ctx *c, const gql_plan_field *f, const char *n,
                                        const cJSON *v, const char *digits)
{
    gql_buf *out = c->out;
    if (!strcmp(n, "Int")) {
        int32_t value;
        switch (gql_json_number_int32(digits, &value)) {
        case GQL_JSON_INT32:
            gql_buf_printf(out, "%" PRId32, value);
            return COMPLETED;
        case GQL_JSON_NOT_INTEGER:
            return leaf_error(c, f, "Int cannot represent non-integer value: ", v);
        case GQL_JSON_OUT_OF_RANGE:
            break;
        }
        return leaf_error(c, f, "Int cannot represent non 32-bit signed integer value: ", v);
    }
    if (!strcmp(n, "Float")) {
        /* The spec's Float is a finite double: digits beyond a double's range are refused,
         * digits beyond its precision are answered as stored. */
        if (!isfinite(v->valuedouble))
            return leaf_error(c, f, "Float cannot represent non numeric value: ", v);
        gql_buf_puts(out, digits);
        return COMPLETED;
    }
    if (!strcmp(n, "String")) {
        gql_buf_json_string(out, digits, strlen(digits));
        return COMPLETED;
    }
    if (!strcmp(n, "Boolean")) {
        if (!isfinite(v->valuedouble))
            return leaf_error(c, f, "Boolean cannot represent a non boolean value: ", v);
        gql_buf_puts(out, number_text_is_zero(digits) ? "false" : "true");
        return COMPLETED;
    }
    if (!strcmp(n, "ID")) {
        /* a key as the database wrote it, every digit */
        size_t mark = out->len;
        gql_buf_puts(out, "\"");
        if (!gql_json_number_integer_digits(digits, out)) {
            truncate_to(c, mark);
            return leaf_error(c, f, "ID cannot represent value: ", v);
        }
        gql_buf_puts(out, "\"");
        return COMPLETED;
    }
    gql_buf_puts(out, digits);
    return COMPLETED;
}

static completion serialize_leaf(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                 const cJSON *v)
{
    gql_buf *out = c->out;
    const char *n = type->name;
    if (type->kind == GQL_KIND_ENUM) {
        if (cJSON_IsString(v))
            for (size_t i = 0; i < type->enum_value_count; i++)
                if (!strcmp(type->enum_values[i].name, v->valuestring)) {
                    gql_buf_json_string(out, v->valuestring, strlen(v->valuestring));
                    return COMPLETED;
                }
        gql_buf msg;
        gql_buf_init(&msg);
        gql_buf_printf(&msg, "Enum \"%s\" cannot represent value: ", n);
        completion r = leaf_error(c, f, msg.data, v);
        gql_buf_free(&msg);
        return r;
    }
    if (!type->builtin) {
        gql_buf_json_value(out, v);
        return COMPLETED;
    }
    const char *digits = gql_json_number_text(v);
    if (digits != NULL)
        return serialize_number_text(c, f, n, v, digits);
    if (!strcmp(n, "Int") || !strcmp(n, "Float")) {
        bool is_int = n[0] == 'I';
        double num = 0;
        bool numeric = false;
        if (cJSON_IsBool(v)) {
            num = cJSON_IsTrue(v) ? 1 : 0;
            numeric = true;
        } else if (cJSON_IsNumber(v)) {
            num = v->valuedouble;
            numeric = true;
        } else if (cJSON_IsString(v) && v->valuestring[0]) {
            numeric = js_number_from_string(v->valuestring, &num);
            if (!numeric)
                num = NAN, numeric = true;
        }
        if (is_int) {
            if (!numeric || !is_js_integer(num))
                return leaf_error(c, f, "Int cannot represent non-integer value: ", v);
            if (num > 2147483647.0 || num < -2147483648.0)
                return leaf_error(c, f, "Int cannot represent non 32-bit signed integer value: ",
                                  v);
        } else if (!numeric || !isfinite(num)) {
            return leaf_error(c, f, "Float cannot represent non numeric value: ", v);
        }
        gql_buf_json_number(out, num);
        return COMPLETED;
    }
    if (!strcmp(n, "String")) {
        if (cJSON_IsString(v))
            gql_buf_json_string(out, v->valuestring, strlen(v->valuestring));
        else if (cJSON_IsBool(v))
            gql_buf_puts(out, cJSON_IsTrue(v) ? "\"true\"" : "\"false\"");
        else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
            gql_buf_puts(out, "\"");
            gql_buf_json_number(out, v->valuedouble);
            gql_buf_puts(out, "\"");
        } else
            return leaf_error(c, f, "String cannot represent value: ", v);
        return COMPLETED;
    }
    if (!strcmp(n, "Boolean")) {
        if (cJSON_IsBool(v))
            gql_buf_puts(out, cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
            gql_buf_puts(out, v->valuedouble != 0 ? "true" : "false");
        else
            return leaf_error(c, f, "Boolean cannot represent a non boolean value: ", v);
        return COMPLETED;
    }
    if (!strcmp(n, "ID")) {
        if (cJSON_IsString(v))
            gql_buf_json_string(out, v->valuestring, strlen(v->valuestring));
        else if (cJSON_IsNumber(v) && is_js_integer(v->valuedouble)) {
            gql_buf_puts(out, "\"");
            gql_buf_json_number(out, v->valuedouble);
            gql_buf_puts(out, "\"");
        } else
            return leaf_error(c, f, "ID cannot represent value: ", v);
        return COMPLETED;
    }
    gql_buf_json_value(out, v);
    return COMPLETED;
}

/* Iterates a JSON array, or a string by code points (JavaScript strings are iterable). */
static completion complete_list(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                const xvalue *v)
{
    const gql_type *item_type = type->of_type;
    gql_buf_puts(c->out, "[");
    size_t index = 0;
    if (v->kind == XV_LIST) {
        for (size_t i = 0; i < v->count; i++, index++) {
            if (i)
                gql_buf_puts(c->out, ",");
            path_push_index(c, index);
            completion r = complete_value(c, f, item_type, &v->items[i]);
            path_pop(c);
            if (r == FAILED)
                return FAILED;
        }
    } else if (cJSON_IsArray(v->json)) {
        for (const cJSON *item = v->json->child; item; item = item->next, index++) {
            if (index)
                gql_buf_puts(c->out, ",");
            xvalue iv = xv_json(item);
            path_push_index(c, index);
            completion r = complete_value(c, f, item_type, &iv);
            path_pop(c);
            if (r == FAILED)
                return FAILED;
        }
    } else if (cJSON_IsString(v->json)) {
        const char *s = v->json->valuestring;
        size_t len = strlen(s);
        for (size_t i = 0; i < len; index++) {
            size_t n = 1;
            unsigned char ch = (unsigned char)s[i];
            if (ch >= 0xF0)
                n = 4;
            else if (ch >= 0xE0)
                n = 3;
            else if (ch >= 0xC0)
                n = 2;
            if (i + n > len)
                n = len - i;
            if (index)
                gql_buf_puts(c->out, ",");
            char *piece = gql_arena_strndup(&c->scratch, s + i, n);
            xvalue iv = xv_json(keep(c, cJSON_CreateString(piece)));
            path_push_index(c, index);
            completion r = complete_value(c, f, item_type, &iv);
            path_pop(c);
            if (r == FAILED)
                return FAILED;
            i += n;
        }
    } else {
        gql_buf msg;
        gql_buf_init(&msg);
        gql_buf_printf(&msg,
                       "Expected Iterable, but did not find one for field \"%s.%s\".",
                       f->parent_type->name, f->name);
        field_error(c, f, msg.data);
        gql_buf_free(&msg);
        return FAILED;
    }
    gql_buf_puts(c->out, "]");
    return COMPLETED;
}

static completion complete_composite(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                     const xvalue *v)
{
    const gql_type *runtime = type;
    if (v->kind == XV_INTRO) {
        runtime = gql_schema_type(c->request->prepared->schema, intro_type_names[v->intro]);
    } else if (gql_type_is_abstract(type)) {
        const cJSON *tn = cJSON_IsObject(v->json) || cJSON_IsArray(v->json)
                              ? cJSON_GetObjectItemCaseSensitive(v->json, "__typename")
                              : NULL;
        gql_buf msg;
        gql_buf_init(&msg);
        if (!cJSON_IsString(tn)) {
            gql_buf_printf(&msg,
                           "Abstract type \"%s\" must resolve to an Object type at runtime for "
                           "field \"%s.%s\". Either the \"%s\" type should provide a "
                           "\"resolveType\" function or each possible type should provide an "
                           "\"isTypeOf\" function.",
                           type->name, f->parent_type->name, f->name, type->name);
        } else {
            runtime = gql_schema_type(c->request->prepared->schema, tn->valuestring);
            if (!runtime)
                gql_buf_printf(&msg,
                               "Abstract type \"%s\" was resolved to a type \"%s\" that does not "
                               "exist inside the schema.",
                               type->name, tn->valuestring);
            else if (runtime->kind != GQL_KIND_OBJECT)
                gql_buf_printf(&msg,
                               "Abstract type \"%s\" was resolved to a non-object type \"%s\".",
                               type->name, tn->valuestring);
            else if (!gql_type_is_possible(type, runtime))
                gql_buf_printf(&msg, "Runtime Object type \"%s\" is not a possible type for \"%s\".",
                               runtime->name, type->name);
        }
        if (msg.len) {
            field_error(c, f, msg.data);
            gql_buf_free(&msg);
            return FAILED;
        }
        gql_buf_free(&msg);
    }
    for (size_t i = 0; i < f->selection_count; i++)
        if (f->selections[i].object_type == runtime)
            return execute_selection(c, &f->selections[i], v) ? COMPLETED : FAILED;
    gql_buf_puts(c->out, "{}");
    return COMPLETED;
}

/* Writes the completed value; NULLED means null was written for a nullable position after an
 * error or a null value; FAILED means the parent must become null (error already recorded). */
static completion complete_value(exec_ctx *c, const gql_plan_field *f, const gql_type *type,
                                 const xvalue *v)
{
    bool non_null = type->kind == GQL_KIND_NON_NULL;
    const gql_type *inner = non_null ? type->of_type : type;
    size_t mark = c->out->len;
    completion r;
    if (v->kind == XV_NULL) {
        if (non_null) {
            gql_buf msg;
            gql_buf_init(&msg);
            gql_buf_printf(&msg, "Cannot return null for non-nullable field %s.%s.",
                           f->parent_type->name, f->name);
            field_error(c, f, msg.data);
            gql_buf_free(&msg);
            return FAILED;
        }
        gql_buf_puts(c->out, "null");
        return NULLED;
    }
    if (inner->kind == GQL_KIND_LIST)
        r = complete_list(c, f, inner, v);
    else if (gql_type_is_leaf(inner))
        r = serialize_leaf(c, f, inner, v->json);
    else
        r = complete_composite(c, f, inner, v);
    if (r != FAILED)
        return r;
    truncate_to(c, mark);
    if (non_null)
        return FAILED;
    gql_buf_puts(c->out, "null");
    return NULLED;
}

static xvalue resolve_field(exec_ctx *c, const gql_plan_selection *sel, const gql_plan_field *f,
                            const xvalue *src)
{
    if (f->kind == GQL_FIELD_TYPENAME)
        return xv_string(c, sel->object_type->name);
    if (f->kind == GQL_FIELD_SCHEMA)
        return xv_intro(INTRO_SCHEMA, c->request->prepared->schema);
    if (f->kind == GQL_FIELD_TYPE) {
        const cJSON *args = gql_request_arguments(c->request, f, NULL);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(args, "name");
        return xv_intro(INTRO_TYPE, cJSON_IsString(name)
                                        ? gql_schema_type(c->request->prepared->schema,
                                                          name->valuestring)
                                        : NULL);
    }
    if (src->kind == XV_INTRO)
        return gql_introspection_resolve(c, src, f);
    if (src->kind == XV_JSON && (cJSON_IsObject(src->json)))
        return xv_json(cJSON_GetObjectItemCaseSensitive(src->json, f->name));
    if (src->kind == XV_JSON && cJSON_IsString(src->json) && !strcmp(f->name, "length")) {
        /* "abc".length, as JavaScript's property access gives */
        size_t units = 0;
        for (const unsigned char *p = (const unsigned char *)src->json->valuestring; *p; p++)
            if ((*p & 0xC0) != 0x80)
                units += *p >= 0xF0 ? 2 : 1;
        return xv_json(keep(c, cJSON_CreateNumber((double)units)));
    }
    if (src->kind == XV_JSON && cJSON_IsArray(src->json) && !strcmp(f->name, "length"))
        return xv_json(keep(c, cJSON_CreateNumber(cJSON_GetArraySize(src->json))));
    return xv_json(NULL);
}

/* graphql-js computes every field's arguments before resolving it, so a runtime value that
 * breaks an argument's type is a field error even where the default resolver ignores them. */
static bool field_arguments_ok(exec_ctx *c, const gql_plan_field *f)
{
    if (!f->definition || f->definition->argument_count == 0)
        return true;
    char *message = NULL;
    uint32_t pos;
    if (gql_request_arguments_at(c->request, f, &message, &pos))
        return true;
    cJSON *e = gql_error_append(c->errors, message);
    gql_error_add_location(e, gql_exec_location(c->request->prepared, pos));
    gql_error_set_path(e, c->path);
    free(message);
    return false;
}

/* Executes the fields of one object. Returns false when a non-null field failed: the object
 * becomes null (the caller truncates the output). */
static bool execute_selection(exec_ctx *c, const gql_plan_selection *sel, const xvalue *src)
{
    gql_buf_puts(c->out, "{");
    for (size_t i = 0; i < sel->field_count; i++) {
        const gql_plan_field *f = &sel->fields[i];
        if (i)
            gql_buf_puts(c->out, ",");
        gql_buf_json_string(c->out, f->response_key, strlen(f->response_key));
        gql_buf_puts(c->out, ":");
        path_push_key(c, f->response_key);
        completion r;
        if (!field_arguments_ok(c, f)) {
            r = f->return_type->kind == GQL_KIND_NON_NULL ? FAILED : NULLED;
            if (r == NULLED)
                gql_buf_puts(c->out, "null");
        } else {
            xvalue v = resolve_field(c, sel, f, src);
            r = complete_value(c, f, f->return_type, &v);
        }
        path_pop(c);
        if (r == FAILED)
            return false;
    }
    gql_buf_puts(c->out, "}");
    return true;
}

/* ------------------------------------------------------------------ responses */

typedef struct root_result {
    bool set;
    bool failed; /* non-null root field failed: data is null */
    gql_buf output;
    cJSON *errors;
} root_result;

struct gql_response {
    gql_request *request;
    root_result *roots;
    size_t root_count;
    cJSON *extensions; /* response-level, NULL when none */
    cJSON *trash;
    gql_arena scratch;
};

gql_response *gql_response_new(gql_request *request)
{
    gql_response *r = gql_xcalloc(1, sizeof(*r));
    r->request = request;
    r->root_count = request->plan->root.field_count;
    r->roots = gql_xcalloc(r->root_count + 1, sizeof(root_result));
    r->trash = cJSON_CreateArray();
    gql_arena_init(&r->scratch);
    return r;
}

void gql_response_free(gql_response *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->root_count; i++) {
        gql_buf_free(&r->roots[i].output);
        cJSON_Delete(r->roots[i].errors);
    }
    free(r->roots);
    cJSON_Delete(r->extensions);
    cJSON_Delete(r->trash);
    gql_arena_free(&r->scratch);
    free(r);
}

static void run_root(gql_response *resp, size_t index, const cJSON *value, const char *error,
                     const cJSON *error_extensions)
{
    if (index >= resp->root_count)
        return;
    root_result *rr = &resp->roots[index];
    if (rr->set) {
        gql_buf_free(&rr->output);
        cJSON_Delete(rr->errors);
        memset(rr, 0, sizeof(*rr));
    }
    rr->set = true;
    rr->errors = cJSON_CreateArray();
    gql_buf_init(&rr->output);
    const gql_plan_field *f = &resp->request->plan->root.fields[index];
    exec_ctx c = {0};
    c.request = resp->request;
    c.out = &rr->output;
    c.errors = rr->errors;
    c.path = cJSON_CreateArray();
    c.trash = resp->trash;
    c.scratch = resp->scratch;
    path_push_key(&c, f->response_key);
    completion r;
    if (error) {
        field_error(&c, f, error);
        if (error_extensions)
            cJSON_AddItemToObject(cJSON_GetArrayItem(c.errors, cJSON_GetArraySize(c.errors) - 1),
                                  "extensions", cJSON_Duplicate(error_extensions, true));
        r = f->return_type->kind == GQL_KIND_NON_NULL ? FAILED : NULLED;
        if (r == NULLED)
            gql_buf_puts(c.out, "null");
    } else {
        xvalue src = xv_json(NULL);
        xvalue v = f->kind == GQL_FIELD_NORMAL ? xv_json(value)
                                               : resolve_field(&c, &resp->request->plan->root,
                                                               f, &src);
        if (!field_arguments_ok(&c, f)) {
            r = f->return_type->kind == GQL_KIND_NON_NULL ? FAILED : NULLED;
            if (r == NULLED)
                gql_buf_puts(c.out, "null");
        } else {
            r = complete_value(&c, f, f->return_type, &v);
        }
    }
    resp->scratch = c.scratch;
    rr->failed = r == FAILED;
    cJSON_Delete(c.path);
}

void gql_response_set_root(gql_response *response, size_t index, const cJSON *value)
{
    run_root(response, index, value, NULL, NULL);
}

void gql_response_set_root_error(gql_response *response, size_t index, const char *message)
{
    run_root(response, index, NULL, message, NULL);
}

void gql_response_set_root_error_extensions(gql_response *response, size_t index,
                                            const char *message, const cJSON *extensions)
{
    run_root(response, index, NULL, message, cJSON_IsObject(extensions) ? extensions : NULL);
}

void gql_response_set_root_error_code(gql_response *response, size_t index,
                                      const char *message, const char *code)
{
    if (!code) {
        run_root(response, index, NULL, message, NULL);
        return;
    }
    cJSON *extensions = cJSON_CreateObject();
    cJSON_AddItemToObject(extensions, "code", cJSON_CreateString(code));
    run_root(response, index, NULL, message, extensions);
    cJSON_Delete(extensions);
}

void gql_response_set_extensions(gql_response *response, const cJSON *extensions)
{
    cJSON_Delete(response->extensions);
    response->extensions = cJSON_IsObject(extensions) ? cJSON_Duplicate(extensions, true) : NULL;
}

bool gql_response_failed(const gql_response *resp)
{
    for (size_t i = 0; i < resp->root_count; i++)
        if (resp->roots[i].failed)
            return true;
    return false;
}

void gql_response_finish(gql_response *resp, gql_buf *out)
{
    bool data_null = false;
    for (size_t i = 0; i < resp->root_count && !data_null; i++) {
        /* unset roots complete as null (an error when the field is non-null) */
        if (!resp->roots[i].set)
            run_root(resp, i, NULL, NULL, NULL);
        if (resp->roots[i].failed)
            data_null = true;
    }
    cJSON *errors = cJSON_CreateArray();
    /* graphql-js stops executing root fields at the first non-null failure: later fields'
     * errors never happen */
    for (size_t i = 0; i < resp->root_count; i++) {
        if (resp->roots[i].errors)
            for (cJSON *e = resp->roots[i].errors->child; e; e = e->next)
                cJSON_AddItemToArray(errors, cJSON_Duplicate(e, true));
        if (resp->roots[i].failed)
            break;
    }
    /* graphql-js's buildResponse: { errors, data } when there are errors, else { data } */
    gql_buf_puts(out, "{");
    if (cJSON_GetArraySize(errors) > 0) {
        gql_buf_puts(out, "\"errors\":");
        gql_buf_json_value(out, errors);
        gql_buf_puts(out, ",");
    }
    gql_buf_puts(out, "\"data\":");
    if (data_null) {
        gql_buf_puts(out, "null");
    } else {
        gql_buf_puts(out, "{");
        for (size_t i = 0; i < resp->root_count; i++) {
            const gql_plan_field *f = &resp->request->plan->root.fields[i];
            if (i)
                gql_buf_puts(out, ",");
            gql_buf_json_string(out, f->response_key, strlen(f->response_key));
            gql_buf_puts(out, ":");
            if (resp->roots[i].set)
                gql_buf_append(out, resp->roots[i].output.data, resp->roots[i].output.len);
            else
                gql_buf_puts(out, "null");
        }
        gql_buf_puts(out, "}");
    }
    if (resp->extensions) {
        gql_buf_puts(out, ",\"extensions\":");
        gql_buf_json_value(out, resp->extensions);
    }
    gql_buf_puts(out, "}");
    cJSON_Delete(errors);
}

void gql_execute_json(gql_request *request, const cJSON *root_value, gql_buf *out)
{
    gql_response *resp = gql_response_new(request);
    size_t count;
    const gql_plan_field *fields = gql_request_fields(request, &count);
    for (size_t i = 0; i < count; i++) {
        const cJSON *v = NULL;
        if (fields[i].kind == GQL_FIELD_NORMAL && cJSON_IsObject(root_value))
            v = cJSON_GetObjectItemCaseSensitive(root_value, fields[i].name);
        gql_response_set_root(resp, i, v);
    }
    gql_response_finish(resp, out);
    gql_response_free(resp);
}
