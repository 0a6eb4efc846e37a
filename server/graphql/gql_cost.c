/* gql_cost: the request cost limit and the introspection switch, computed from the plan of a
 * request before it runs (so a request that would stall a worker is refused at once). */
#include "config.h"

#include "server/graphql/gql_cost.h"

#include <stdio.h>
#include <string.h>

#include "server/graphql/gql_exec_internal.h"

/* Costs saturate here: a product of nested limits must not wrap around to something small. */
#define COST_CAP (UINT64_MAX / 4)

static uint64_t cost_add(uint64_t a, uint64_t b)
{
    return a >= COST_CAP - b || b >= COST_CAP ? COST_CAP : a + b;
}

static uint64_t cost_mul(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return a > COST_CAP / b ? COST_CAP : a * b;
}

typedef struct cost_walk {
    gql_request *request;
    const gql_cost_rules *rules;
    const gql_schema *schema;
    uint64_t total;
    uint64_t stop_above;
    bool stopped;
} cost_walk;

/* ------------------------------------------------------------------ fields of the schema */

/* How many objects a list field may return per parent: its limit argument (the coerced
 * value, default included), capped, or the default when it has none. */
static uint64_t list_length(cost_walk *w, const gql_plan_field *field)
{
    long length = w->rules->default_list_limit;
    if (field->definition != NULL && gql_field_argument(field->definition, "limit") != NULL) {
        const cJSON *arguments = gql_request_arguments(w->request, field, NULL);
        const cJSON *limit = cJSON_GetObjectItemCaseSensitive(arguments, "limit");
        if (cJSON_IsNumber(limit))
            length = limit->valuedouble < 0 ? 0 : limit->valuedouble > (double) w->rules->max_list_limit
                                                       ? w->rules->max_list_limit
                                                       : (long) limit->valuedouble;
    }
    if (length > w->rules->max_list_limit)
        length = w->rules->max_list_limit;
    return length < 0 ? 0 : (uint64_t) length;
}

/* How many objects of its type a composite field yields per parent: 1, or the list length
 * for each list wrapper (lists of lists multiply). */
static uint64_t objects_per_parent(cost_walk *w, const gql_plan_field *field)
{
    uint64_t count = 1;
    for (const gql_type *t = field->return_type; t != NULL; t = t->of_type)
        if (t->kind == GQL_KIND_LIST)
            count = cost_mul(count, list_length(w, field));
    return count;
}

static uint64_t selection_cost(cost_walk *w, const gql_plan_selection *selection, uint64_t objects);

/* The field counts once per parent object; its sub-selection once per object it yields. An
 * abstract type's object is one of its possible types: the dearest of their selections. */
static uint64_t field_cost(cost_walk *w, const gql_plan_field *field, uint64_t parents)
{
    uint64_t cost = parents;
    if (field->selection_count == 0)
        return cost;
    uint64_t objects = cost_mul(parents, objects_per_parent(w, field));
    uint64_t dearest = 0;
    for (size_t i = 0; i < field->selection_count; i++) {
        uint64_t each = selection_cost(w, &field->selections[i], objects);
        if (each > dearest)
            dearest = each;
    }
    return cost_add(cost, dearest);
}

static uint64_t selection_cost(cost_walk *w, const gql_plan_selection *selection, uint64_t objects)
{
    uint64_t cost = 0;
    for (size_t i = 0; i < selection->field_count && cost < COST_CAP; i++)
        cost = cost_add(cost, field_cost(w, &selection->fields[i], objects));
    return cost;
}

/* ------------------------------------------------------------------ introspection */

static bool walk_count(cost_walk *w, uint64_t n)
{
    w->total = cost_add(w->total, n);
    if (w->total > w->stop_above)
        w->stopped = true;
    return !w->stopped;
}

static void intro_value(cost_walk *w, intro_kind kind, const void *object, const gql_plan_field *field);

static void intro_types(cost_walk *w, const gql_type *const *types, size_t count, const gql_plan_field *field)
{
    for (size_t i = 0; i < count && !w->stopped; i++)
        intro_value(w, INTRO_TYPE, types[i], field);
}

static void intro_input_values(cost_walk *w, const gql_input_value *values, size_t count,
                               const gql_plan_field *field)
{
    for (size_t i = 0; i < count && !w->stopped; i++)
        intro_value(w, INTRO_INPUT_VALUE, &values[i], field);
}

/* The values a field of an introspection object adds beyond itself. */
static void intro_field(cost_walk *w, intro_kind kind, const void *object, const gql_plan_field *field)
{
    const char *name = field->name;
    switch (kind) {
    case INTRO_SCHEMA: {
        const gql_schema *schema = object;
        if (strcmp(name, "types") == 0) {
            for (size_t i = 0; i < gql_schema_type_count(schema) && !w->stopped; i++)
                intro_value(w, INTRO_TYPE, gql_schema_type_at(schema, i), field);
        } else if (strcmp(name, "directives") == 0) {
            for (size_t i = 0; i < gql_schema_directive_count(schema) && !w->stopped; i++)
                intro_value(w, INTRO_DIRECTIVE, gql_schema_directive_at(schema, i), field);
        } else if (strcmp(name, "queryType") == 0) {
            intro_value(w, INTRO_TYPE, gql_schema_query_type(schema), field);
        } else if (strcmp(name, "mutationType") == 0) {
            intro_value(w, INTRO_TYPE, gql_schema_mutation_type(schema), field);
        } else if (strcmp(name, "subscriptionType") == 0) {
            intro_value(w, INTRO_TYPE, gql_schema_subscription_type(schema), field);
        }
        return;
    }
    case INTRO_TYPE: {
        const gql_type *type = object;
        if (strcmp(name, "fields") == 0) {
            for (size_t i = 0; i < type->field_count && !w->stopped; i++)
                intro_value(w, INTRO_FIELD, &type->fields[i], field);
        } else if (strcmp(name, "interfaces") == 0) {
            intro_types(w, type->interfaces, type->interface_count, field);
        } else if (strcmp(name, "possibleTypes") == 0) {
            intro_types(w, type->possible_types, type->possible_type_count, field);
        } else if (strcmp(name, "enumValues") == 0) {
            for (size_t i = 0; i < type->enum_value_count && !w->stopped; i++)
                intro_value(w, INTRO_ENUM_VALUE, &type->enum_values[i], field);
        } else if (strcmp(name, "inputFields") == 0) {
            intro_input_values(w, type->input_fields, type->input_field_count, field);
        } else if (strcmp(name, "ofType") == 0) {
            intro_value(w, INTRO_TYPE, type->of_type, field);
        }
        return;
    }
    case INTRO_FIELD: {
        const gql_field *definition = object;
        if (strcmp(name, "args") == 0)
            intro_input_values(w, definition->arguments, definition->argument_count, field);
        else if (strcmp(name, "type") == 0)
            intro_value(w, INTRO_TYPE, definition->type, field);
        return;
    }
    case INTRO_INPUT_VALUE:
        if (strcmp(name, "type") == 0)
            intro_value(w, INTRO_TYPE, ((const gql_input_value *) object)->type, field);
        return;
    case INTRO_DIRECTIVE: {
        const gql_directive_def *directive = object;
        if (strcmp(name, "args") == 0)
            intro_input_values(w, directive->arguments, directive->argument_count, field);
        else if (strcmp(name, "locations") == 0)
            walk_count(w, directive->location_count);
        return;
    }
    case INTRO_ENUM_VALUE:
        return;
    }
}

/* One introspection object (NULL: a null) with the sub-selection of field: the object, and
 * each selected field of it. */
static void intro_value(cost_walk *w, intro_kind kind, const void *object, const gql_plan_field *field)
{
    if (!walk_count(w, 1) || object == NULL || field->selection_count == 0)
        return;
    const gql_plan_selection *selection = &field->selections[0];
    for (size_t i = 0; i < selection->field_count && !w->stopped; i++) {
        const gql_plan_field *child = &selection->fields[i];
        if (walk_count(w, 1) && child->kind == GQL_FIELD_NORMAL)
            intro_field(w, kind, object, child);
    }
}

static void intro_root(cost_walk *w, const gql_plan_field *field)
{
    if (field->kind == GQL_FIELD_SCHEMA) {
        intro_value(w, INTRO_SCHEMA, w->schema, field);
        return;
    }
    const cJSON *arguments = gql_request_arguments(w->request, field, NULL);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(arguments, "name");
    intro_value(w, INTRO_TYPE, cJSON_IsString(name) ? gql_schema_type(w->schema, name->valuestring) : NULL, field);
}

/* ------------------------------------------------------------------ the request */

uint64_t gql_cost_of(gql_request *request, const gql_cost_rules *rules, uint64_t stop_above, bool *exact)
{
    cost_walk w = {
        .request = request,
        .rules = rules,
        .schema = request->prepared->schema,
        .stop_above = stop_above,
    };
    size_t count = 0;
    const gql_plan_field *fields = gql_request_fields(request, &count);
    uint64_t root_cost =
        gql_request_operation_type(request) == GQL_OPERATION_MUTATION ? rules->mutation_root_cost : rules->query_root_cost;
    for (size_t i = 0; i < count && !w.stopped; i++) {
        const gql_plan_field *field = &fields[i];
        if (field->kind == GQL_FIELD_SCHEMA || field->kind == GQL_FIELD_TYPE) {
            intro_root(&w, field);
            continue;
        }
        /* linear in the plan: counted in full, so the message can say the whole cost */
        uint64_t cost = field_cost(&w, field, 1);
        if (field->kind == GQL_FIELD_NORMAL)
            cost = cost_add(cost, root_cost);
        w.total = cost_add(w.total, cost);
    }
    if (exact != NULL)
        *exact = !w.stopped;
    return w.total;
}

static void append_error(cJSON **errors, const char *message, const char *code)
{
    *errors = cJSON_CreateArray();
    gql_error_set_code(gql_error_append(*errors, message), code);
}

bool gql_cost_check(gql_request *request, const gql_cost_rules *rules, cJSON **errors)
{
    if (!rules->introspection) {
        size_t count = 0;
        const gql_plan_field *fields = gql_request_fields(request, &count);
        for (size_t i = 0; i < count; i++) {
            if (fields[i].kind == GQL_FIELD_SCHEMA || fields[i].kind == GQL_FIELD_TYPE) {
                append_error(errors,
                             "Introspection is turned off on this server (server.introspection = off): "
                             "__schema and __type are refused. Ask its operators for the schema, or "
                             "turn introspection on.",
                             "INTROSPECTION_DISABLED");
                return false;
            }
        }
    }
    bool exact = true;
    uint64_t cost = gql_cost_of(request, rules, rules->max_cost, &exact);
    if (cost <= rules->max_cost)
        return true;
    char message[512];
    snprintf(message, sizeof message,
             "This request would cost %s%llu, more than server.max_request_cost = %llu (one unit per value "
             "the answer may hold, lists counted at their limit; each root field that reads the database counts "
             "%llu more). "
             "Send fewer aliases or root fields, a smaller limit, less nesting of lists or of "
             "__schema/__type, or split the request.",
             exact ? "" : "at least ", (unsigned long long) cost, (unsigned long long) rules->max_cost,
             (unsigned long long) rules->query_root_cost);
    append_error(errors, message, "QUERY_TOO_EXPENSIVE");
    return false;
}
