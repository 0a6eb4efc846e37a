/* gql_print: prints a schema as graphql-js 16's printSchema does (built-in scalars,
 * introspection types and specified directives left out), for the introspection round trip. */
#include "config.h"

#include "server/graphql/graphql.h"
#include "server/graphql/gql_schema.h"
#include "server/graphql/gql_values.h"

#include <stdio.h>
#include <string.h>

static bool is_specified_directive(const char *name)
{
    static const char *const names[] = {"include", "skip", "deprecated", "specifiedBy", "oneOf"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}

static bool is_standard_type(const gql_type *t)
{
    return t->builtin || !strncmp(t->name, "__", 2);
}

/* isPrintableAsBlockString */
static bool printable_as_block_string(const char *value)
{
    if (!*value)
        return true;
    bool empty_line = true, has_indent = false, common_indent = true, seen_non_empty = false;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        unsigned c = *p;
        if (c <= 0x08 || c == 0x0b || c == 0x0c || c == 0x0e || c == 0x0f || c == 0x0d)
            return false;
        if (c == '\n') {
            if (empty_line && !seen_non_empty)
                return false;
            seen_non_empty = true;
            empty_line = true;
            has_indent = false;
        } else if (c == '\t' || c == ' ') {
            has_indent = has_indent || empty_line;
        } else {
            common_indent = common_indent && has_indent;
            empty_line = false;
        }
    }
    if (empty_line)
        return false;
    if (common_indent && seen_non_empty)
        return false;
    return true;
}

static void print_description(gql_buf *out, const char *description, const char *indentation,
                              bool first_in_block)
{
    if (!description)
        return;
    gql_buf block;
    gql_buf_init(&block);
    if (printable_as_block_string(description))
        gql_print_block_string(description, strlen(description), &block);
    else
        gql_print_string(description, strlen(description), &block);
    if (*indentation && !first_in_block) {
        gql_buf_puts(out, "\n");
        gql_buf_puts(out, indentation);
    } else {
        gql_buf_puts(out, indentation);
    }
    for (size_t i = 0; i < block.len; i++) {
        gql_buf_append(out, block.data + i, 1);
        if (block.data[i] == '\n')
            gql_buf_puts(out, indentation);
    }
    gql_buf_puts(out, "\n");
    gql_buf_free(&block);
}

static void print_deprecated(gql_buf *out, const char *reason)
{
    if (!reason)
        return;
    if (strcmp(reason, "No longer supported")) {
        gql_buf_puts(out, " @deprecated(reason: ");
        gql_print_string(reason, strlen(reason), out);
        gql_buf_puts(out, ")");
    } else {
        gql_buf_puts(out, " @deprecated");
    }
}

static void print_input_value(gql_buf *out, const gql_input_value *v)
{
    gql_buf_printf(out, "%s: ", v->name);
    gql_type_print(v->type, out);
    if (v->default_value) {
        gql_buf value;
        gql_buf_init(&value);
        if (gql_print_input_value(v->default_value, v->type, &value)) {
            gql_buf_puts(out, " = ");
            gql_buf_append(out, value.data, value.len);
        }
        gql_buf_free(&value);
    }
    print_deprecated(out, v->deprecation_reason);
}

static void print_args(gql_buf *out, const gql_input_value *args, size_t count,
                       const char *indentation)
{
    if (!count)
        return;
    bool any_description = false;
    for (size_t i = 0; i < count; i++)
        if (args[i].description)
            any_description = true;
    if (!any_description) {
        gql_buf_puts(out, "(");
        for (size_t i = 0; i < count; i++) {
            if (i)
                gql_buf_puts(out, ", ");
            print_input_value(out, &args[i]);
        }
        gql_buf_puts(out, ")");
        return;
    }
    gql_buf_puts(out, "(\n");
    char inner[64];
    snprintf(inner, sizeof(inner), "  %s", indentation);
    for (size_t i = 0; i < count; i++) {
        if (i)
            gql_buf_puts(out, "\n");
        print_description(out, args[i].description, inner, i == 0);
        gql_buf_puts(out, inner);
        print_input_value(out, &args[i]);
    }
    gql_buf_printf(out, "\n%s)", indentation);
}

static void print_fields(gql_buf *out, const gql_type *t)
{
    if (!t->field_count)
        return;
    gql_buf_puts(out, " {\n");
    for (size_t i = 0; i < t->field_count; i++) {
        const gql_field *f = &t->fields[i];
        if (i)
            gql_buf_puts(out, "\n");
        print_description(out, f->description, "  ", i == 0);
        gql_buf_printf(out, "  %s", f->name);
        print_args(out, f->arguments, f->argument_count, "  ");
        gql_buf_puts(out, ": ");
        gql_type_print(f->type, out);
        print_deprecated(out, f->deprecation_reason);
    }
    gql_buf_puts(out, "\n}");
}

static void print_interfaces(gql_buf *out, const gql_type *t)
{
    for (size_t i = 0; i < t->interface_count; i++)
        gql_buf_printf(out, "%s%s", i ? " & " : " implements ", t->interfaces[i]->name);
}

static void print_type(gql_buf *out, const gql_type *t)
{
    print_description(out, t->description, "", true);
    switch (t->kind) {
    case GQL_KIND_SCALAR:
        gql_buf_printf(out, "scalar %s", t->name);
        if (t->specified_by_url) {
            gql_buf_puts(out, " @specifiedBy(url: ");
            gql_print_string(t->specified_by_url, strlen(t->specified_by_url), out);
            gql_buf_puts(out, ")");
        }
        break;
    case GQL_KIND_OBJECT:
    case GQL_KIND_INTERFACE:
        gql_buf_printf(out, "%s %s", t->kind == GQL_KIND_OBJECT ? "type" : "interface", t->name);
        print_interfaces(out, t);
        print_fields(out, t);
        break;
    case GQL_KIND_UNION:
        gql_buf_printf(out, "union %s", t->name);
        for (size_t i = 0; i < t->possible_type_count; i++)
            gql_buf_printf(out, "%s%s", i ? " | " : " = ", t->possible_types[i]->name);
        break;
    case GQL_KIND_ENUM:
        gql_buf_printf(out, "enum %s", t->name);
        if (t->enum_value_count) {
            gql_buf_puts(out, " {\n");
            for (size_t i = 0; i < t->enum_value_count; i++) {
                if (i)
                    gql_buf_puts(out, "\n");
                print_description(out, t->enum_values[i].description, "  ", i == 0);
                gql_buf_printf(out, "  %s", t->enum_values[i].name);
                print_deprecated(out, t->enum_values[i].deprecation_reason);
            }
            gql_buf_puts(out, "\n}");
        }
        break;
    case GQL_KIND_INPUT_OBJECT:
        gql_buf_printf(out, "input %s", t->name);
        if (gql_directive_find(t->directives, t->directive_count, "oneOf"))
            gql_buf_puts(out, " @oneOf");
        if (t->input_field_count) {
            gql_buf_puts(out, " {\n");
            for (size_t i = 0; i < t->input_field_count; i++) {
                if (i)
                    gql_buf_puts(out, "\n");
                print_description(out, t->input_fields[i].description, "  ", i == 0);
                gql_buf_puts(out, "  ");
                print_input_value(out, &t->input_fields[i]);
            }
            gql_buf_puts(out, "\n}");
        }
        break;
    default:
        break;
    }
}

void gql_schema_print(const gql_schema *schema, gql_buf *out)
{
    bool first = true;
    const gql_type *q = schema->query, *m = schema->mutation, *s = schema->subscription;
    bool common = (!q || !strcmp(q->name, "Query")) && (!m || !strcmp(m->name, "Mutation")) &&
                  (!s || !strcmp(s->name, "Subscription"));
    gql_buf_puts(out, "");
    if (schema->description || !common) {
        print_description(out, schema->description, "", true);
        gql_buf_puts(out, "schema {\n");
        bool any = false;
        if (q) {
            gql_buf_printf(out, "  query: %s", q->name);
            any = true;
        }
        if (m) {
            gql_buf_printf(out, "%s  mutation: %s", any ? "\n" : "", m->name);
            any = true;
        }
        if (s)
            gql_buf_printf(out, "%s  subscription: %s", any ? "\n" : "", s->name);
        gql_buf_puts(out, "\n}");
        first = false;
    }
    for (size_t i = 0; i < schema->directive_count; i++) {
        const gql_directive_def *d = schema->directives[i];
        if (is_specified_directive(d->name))
            continue;
        if (!first)
            gql_buf_puts(out, "\n\n");
        first = false;
        print_description(out, d->description, "", true);
        gql_buf_printf(out, "directive @%s", d->name);
        print_args(out, d->arguments, d->argument_count, "");
        if (d->repeatable)
            gql_buf_puts(out, " repeatable");
        gql_buf_puts(out, " on ");
        for (size_t k = 0; k < d->location_count; k++)
            gql_buf_printf(out, "%s%s", k ? " | " : "",
                           gql_directive_location_name(d->location_order[k]));
    }
    for (size_t i = 0; i < schema->type_count; i++) {
        const gql_type *t = schema->types[i];
        if (is_standard_type(t))
            continue;
        if (!first)
            gql_buf_puts(out, "\n\n");
        first = false;
        print_type(out, t);
    }
}
