/* gql_values: GraphQL input values: literal printing, valueFromAST, coerceInputValue, inspect()
 * and "Did you mean" suggestions, each following graphql-js 16 so messages match byte for byte. */
#include "config.h"

#include "server/graphql/gql_values.h"
#include "server/graphql/gql_json_read.h"
#include "server/graphql/gql_date_time.h"
#include "server/graphql/gql_map.h"
#include "server/graphql/gql_schema.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ printing */

void gql_print_string(const char *text, size_t length, gql_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    gql_buf_append(out, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        char esc[8];
        const char *e = NULL;
        /* U+007F..U+009F: 0x7F, or the 2-byte UTF-8 forms C2 80..C2 9F */
        if (c == 0xC2 && i + 1 < length && (unsigned char)text[i + 1] >= 0x80 &&
            (unsigned char)text[i + 1] <= 0x9F) {
            unsigned char cp = (unsigned char)text[i + 1];
            gql_buf_append(out, text + run, i - run);
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[cp >> 4]; esc[5] = hex[cp & 15]; esc[6] = 0;
            gql_buf_puts(out, esc);
            i++;
            run = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F)
            continue;
        switch (c) {
        case '\b': e = "\\b"; break;
        case '\t': e = "\\t"; break;
        case '\n': e = "\\n"; break;
        case '\f': e = "\\f"; break;
        case '\r': e = "\\r"; break;
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        default:
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; esc[6] = 0;
            e = esc;
        }
        gql_buf_append(out, text + run, i - run);
        gql_buf_puts(out, e);
        run = i + 1;
    }
    gql_buf_append(out, text + run, length - run);
    gql_buf_append(out, "\"", 1);
}

static bool is_white_space(int c)
{
    return c == ' ' || c == '\t';
}

void gql_print_block_string(const char *text, size_t length, gql_buf *out)
{
    gql_buf escaped;
    gql_buf_init(&escaped);
    gql_buf_append(&escaped, "", 0);
    for (size_t i = 0; i < length; i++) {
        if (i + 2 < length && text[i] == '"' && text[i + 1] == '"' && text[i + 2] == '"') {
            gql_buf_puts(&escaped, "\\\"\"\"");
            i += 2;
        } else if (text[i] == '\0') {
            gql_buf_append(&escaped, "\xC0\x80", 2); /* U+0000, see gql_buf_json_string */
        } else {
            gql_buf_append(&escaped, text + i, 1);
        }
    }
    /* split into lines */
    size_t line_count = 1;
    bool rest_blank_or_ws = true;
    for (size_t i = 0; i < escaped.len; i++) {
        char c = escaped.data[i];
        if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < escaped.len && escaped.data[i + 1] == '\n')
                i++;
            line_count++;
            if (i + 1 < escaped.len && !is_white_space(escaped.data[i + 1]) &&
                escaped.data[i + 1] != '\n' && escaped.data[i + 1] != '\r')
                rest_blank_or_ws = false;
        }
    }
    bool single_line = line_count == 1;
    bool force_leading = line_count > 1 && rest_blank_or_ws;
    bool trailing_triple = escaped.len >= 4 && memcmp(escaped.data + escaped.len - 4, "\\\"\"\"", 4) == 0;
    bool trailing_quote = length > 0 && text[length - 1] == '"' && !trailing_triple;
    bool trailing_slash = length > 0 && text[length - 1] == '\\';
    bool force_trailing = trailing_quote || trailing_slash;
    /* value.length counts UTF-16 units */
    size_t units = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xC0) != 0x80)
            units += c >= 0xF0 ? 2 : 1;
    }
    bool multiple = !single_line || units > 70 || force_trailing || force_leading ||
                    trailing_triple;
    bool skip_leading = single_line && length > 0 && is_white_space(text[0]);
    gql_buf_puts(out, "\"\"\"");
    if ((multiple && !skip_leading) || force_leading)
        gql_buf_puts(out, "\n");
    gql_buf_append(out, escaped.data, escaped.len);
    if (multiple || force_trailing)
        gql_buf_puts(out, "\n");
    gql_buf_puts(out, "\"\"\"");
    gql_buf_free(&escaped);
}

void gql_print_value(const ast_value *v, gql_buf *out)
{
    switch (v->kind) {
    case AST_VALUE_VARIABLE:
        gql_buf_puts(out, "$");
        gql_buf_puts(out, v->text);
        break;
    case AST_VALUE_INT:
    case AST_VALUE_FLOAT:
    case AST_VALUE_ENUM:
        gql_buf_puts(out, v->text);
        break;
    case AST_VALUE_STRING:
        if (v->block)
            gql_print_block_string(v->text, v->text_length, out);
        else
            gql_print_string(v->text, v->text_length, out);
        break;
    case AST_VALUE_BOOLEAN:
        gql_buf_puts(out, v->boolean ? "true" : "false");
        break;
    case AST_VALUE_NULL:
        gql_buf_puts(out, "null");
        break;
    case AST_VALUE_LIST:
        gql_buf_puts(out, "[");
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                gql_buf_puts(out, ", ");
            gql_print_value(v->items[i], out);
        }
        gql_buf_puts(out, "]");
        break;
    case AST_VALUE_OBJECT:
        gql_buf_puts(out, "{");
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                gql_buf_puts(out, ", ");
            gql_buf_puts(out, v->fields[i].name);
            gql_buf_puts(out, ": ");
            gql_print_value(v->fields[i].value, out);
        }
        gql_buf_puts(out, "}");
        break;
    }
}

static void inspect_value(const cJSON *value, gql_buf *out, int seen)
{
    if (!value || cJSON_IsNull(value)) {
        gql_buf_puts(out, "null");
    } else if (cJSON_IsTrue(value)) {
        gql_buf_puts(out, "true");
    } else if (cJSON_IsFalse(value)) {
        gql_buf_puts(out, "false");
    } else if (gql_json_number_text(value)) {
        gql_buf_puts(out, value->valuestring);
    } else if (cJSON_IsNumber(value)) {
        gql_buf_json_number(out, value->valuedouble);
        if (!isfinite(value->valuedouble)) {
            out->len -= 4;
            gql_buf_puts(out, isnan(value->valuedouble) ? "NaN"
                              : value->valuedouble > 0 ? "Infinity" : "-Infinity");
        }
    } else if (cJSON_IsString(value)) {
        gql_buf_json_string(out, value->valuestring, strlen(value->valuestring));
    } else if (cJSON_IsArray(value)) {
        int n = cJSON_GetArraySize(value);
        if (n == 0) {
            gql_buf_puts(out, "[]");
            return;
        }
        if (seen + 1 > 2) {
            gql_buf_puts(out, "[Array]");
            return;
        }
        gql_buf_puts(out, "[");
        int i = 0;
        for (const cJSON *item = value->child; item && i < 10; item = item->next, i++) {
            if (i)
                gql_buf_puts(out, ", ");
            inspect_value(item, out, seen + 1);
        }
        if (n > 10)
            gql_buf_printf(out, ", ... %d more item%s", n - 10, n - 10 == 1 ? "" : "s");
        gql_buf_puts(out, "]");
    } else if (cJSON_IsObject(value)) {
        if (!value->child) {
            gql_buf_puts(out, "{}");
            return;
        }
        if (seen + 1 > 2) {
            gql_buf_puts(out, "[Object]");
            return;
        }
        gql_buf_puts(out, "{ ");
        for (const cJSON *item = value->child; item; item = item->next) {
            if (item != value->child)
                gql_buf_puts(out, ", ");
            gql_buf_puts(out, item->string);
            gql_buf_puts(out, ": ");
            inspect_value(item, out, seen + 1);
        }
        gql_buf_puts(out, " }");
    } else {
        gql_buf_puts(out, "undefined");
    }
}

void gql_inspect(const cJSON *value, gql_buf *out)
{
    inspect_value(value, out, 0);
}

/* ------------------------------------------------------------------ suggestions */

static int natural_compare(const char *a, const char *b)
{
    size_t ai = 0, bi = 0, al = strlen(a), bl = strlen(b);
    while (ai < al && bi < bl) {
        int ac = (unsigned char)a[ai], bc = (unsigned char)b[bi];
        if (isdigit(ac) && isdigit(bc)) {
            double an = 0, bn = 0;
            do {
                ++ai;
                an = an * 10 + ac - '0';
                ac = ai < al ? (unsigned char)a[ai] : -1;
            } while (ac >= 0 && isdigit(ac) && an > 0);
            do {
                ++bi;
                bn = bn * 10 + bc - '0';
                bc = bi < bl ? (unsigned char)b[bi] : -1;
            } while (bc >= 0 && isdigit(bc) && bn > 0);
            if (an < bn)
                return -1;
            if (an > bn)
                return 1;
        } else {
            if (ac < bc)
                return -1;
            if (ac > bc)
                return 1;
            ++ai;
            ++bi;
        }
    }
    return (int)((long)al - (long)bl);
}

static void lower_copy(const char *s, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = 0;
}

/* LexicalDistance.measure: -1 when above threshold. */
static int lexical_distance(const char *input, const char *option, int threshold)
{
    if (strcmp(input, option) == 0)
        return 0;
    size_t il = strlen(input), ol = strlen(option);
    if (il > 256 || ol > 256)
        return -1;
    char a_buf[257], b_buf[257];
    lower_copy(option, a_buf, ol);
    lower_copy(input, b_buf, il);
    if (strcmp(a_buf, b_buf) == 0)
        return 1;
    const char *a = a_buf, *b = b_buf;
    size_t a_len = ol, b_len = il;
    if (a_len < b_len) {
        const char *t = a;
        a = b;
        b = t;
        size_t tl = a_len;
        a_len = b_len;
        b_len = tl;
    }
    if ((int)(a_len - b_len) > threshold)
        return -1;
    int rows[3][258];
    for (size_t j = 0; j <= b_len; j++)
        rows[0][j] = (int)j;
    for (size_t i = 1; i <= a_len; i++) {
        int *up = rows[(i - 1) % 3];
        int *cur = rows[i % 3];
        int smallest = cur[0] = (int)i;
        for (size_t j = 1; j <= b_len; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int cell = up[j] + 1;
            if (cur[j - 1] + 1 < cell)
                cell = cur[j - 1] + 1;
            if (up[j - 1] + cost < cell)
                cell = up[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                int dd = rows[(i - 2) % 3][j - 2] + 1;
                if (dd < cell)
                    cell = dd;
            }
            if (cell < smallest)
                smallest = cell;
            cur[j] = cell;
        }
        if (smallest > threshold)
            return -1;
    }
    int d = rows[a_len % 3][b_len];
    return d <= threshold ? d : -1;
}

size_t gql_suggestion_list(const char *input, const char *const *options, size_t count,
                           const char **out)
{
    int threshold = (int)(strlen(input) * 4 / 10) + 1;
    /* JS: floor(length * 0.4) */
    threshold = (int)floor((double)strlen(input) * 0.4) + 1;
    int *dist = gql_xmalloc((count ? count : 1) * sizeof(int));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        /* options are unique keys in graphql-js (object keys) */
        bool duplicate = false;
        for (size_t k = 0; k < n; k++)
            if (strcmp(out[k], options[i]) == 0)
                duplicate = true;
        if (duplicate)
            continue;
        int d = lexical_distance(input, options[i], threshold);
        if (d >= 0) {
            out[n] = options[i];
            dist[n] = d;
            n++;
        }
    }
    /* insertion sort: stable, small n */
    for (size_t i = 1; i < n; i++) {
        const char *s = out[i];
        int d = dist[i];
        size_t j = i;
        while (j > 0 && (dist[j - 1] > d || (dist[j - 1] == d && natural_compare(out[j - 1], s) > 0))) {
            out[j] = out[j - 1];
            dist[j] = dist[j - 1];
            j--;
        }
        out[j] = s;
        dist[j] = d;
    }
    free(dist);
    return n;
}

void gql_did_you_mean(gql_buf *out, const char *sub_message, const char *const *suggestions,
                      size_t count)
{
    if (count == 0)
        return;
    gql_buf_puts(out, " Did you mean ");
    if (sub_message) {
        gql_buf_puts(out, sub_message);
        gql_buf_puts(out, " ");
    }
    if (count == 1) {
        gql_buf_printf(out, "\"%s\"?", suggestions[0]);
        return;
    }
    if (count == 2) {
        gql_buf_printf(out, "\"%s\" or \"%s\"?", suggestions[0], suggestions[1]);
        return;
    }
    size_t selected = count > 5 ? 5 : count;
    for (size_t i = 0; i + 1 < selected; i++)
        gql_buf_printf(out, "%s\"%s\"", i ? ", " : "", suggestions[i]);
    gql_buf_printf(out, ", or \"%s\"?", suggestions[selected - 1]);
}

static void did_you_mean_enum(gql_buf *out, const gql_type *type, const char *value)
{
    const char **names = gql_xmalloc((type->enum_value_count + 1) * sizeof(char *));
    const char **sugg = gql_xmalloc((type->enum_value_count + 1) * sizeof(char *));
    for (size_t i = 0; i < type->enum_value_count; i++)
        names[i] = type->enum_values[i].name;
    size_t n = gql_suggestion_list(value, names, type->enum_value_count, sugg);
    gql_did_you_mean(out, "the enum value", sugg, n);
    free(names);
    free(sugg);
}

/* ------------------------------------------------------------------ literals */

static const gql_enum_value *enum_value_named(const gql_type *type, const char *name)
{
    for (size_t i = 0; i < type->enum_value_count; i++)
        if (strcmp(type->enum_values[i].name, name) == 0)
            return &type->enum_values[i];
    return NULL;
}

static bool is_builtin_scalar(const gql_type *type, const char *name)
{
    return type->builtin && strcmp(type->name, name) == 0;
}

static bool graphql_js_values;

void gql_accept_graphql_js_values(bool accept)
{
    graphql_js_values = accept;
}

bool gql_values_graphql_js(void)
{
    return graphql_js_values;
}

bool gql_scalar_is_date_time(const gql_type *t)
{
    return !graphql_js_values && t && t->kind == GQL_KIND_SCALAR && !t->builtin && strcmp(t->name, "DateTime") == 0;
}

/* parseLiteral of built-in scalars and enums; custom scalars use valueFromASTUntyped. */
static bool leaf_parse_literal(const gql_type *type, const ast_value *node, const cJSON *vars,
                               cJSON **out, gql_buf *message)
{
    gql_buf tmp;
    gql_buf_init(&tmp);
    bool ok = false;
    if (type->kind == GQL_KIND_ENUM) {
        if (node->kind != AST_VALUE_ENUM) {
            if (message) {
                gql_print_value(node, &tmp);
                gql_buf_printf(message, "Enum \"%s\" cannot represent non-enum value: %s.",
                               type->name, tmp.data);
                did_you_mean_enum(message, type, tmp.data);
            }
        } else if (!enum_value_named(type, node->text)) {
            if (message) {
                gql_buf_printf(message, "Value \"%s\" does not exist in \"%s\" enum.", node->text,
                               type->name);
                did_you_mean_enum(message, type, node->text);
            }
        } else {
            ok = true;
            if (out)
                *out = cJSON_CreateString(node->text);
        }
    } else if (is_builtin_scalar(type, "Int")) {
        if (node->kind != AST_VALUE_INT) {
            if (message) {
                gql_print_value(node, &tmp);
                gql_buf_printf(message, "Int cannot represent non-integer value: %s", tmp.data);
            }
        } else {
            double num = strtod(node->text, NULL);
            if (num > 2147483647.0 || num < -2147483648.0) {
                if (message)
                    gql_buf_printf(message,
                                   "Int cannot represent non 32-bit signed integer value: %s",
                                   node->text);
            } else {
                ok = true;
                if (out)
                    *out = cJSON_CreateNumber(num);
            }
        }
    } else if (is_builtin_scalar(type, "Float")) {
        if (node->kind != AST_VALUE_INT && node->kind != AST_VALUE_FLOAT) {
            if (message) {
                gql_print_value(node, &tmp);
                gql_buf_printf(message, "Float cannot represent non numeric value: %s", tmp.data);
            }
        } else {
            ok = true;
            if (out)
                *out = cJSON_CreateNumber(strtod(node->text, NULL));
        }
    } else if (is_builtin_scalar(type, "String")) {
        if (node->kind != AST_VALUE_STRING) {
            if (message) {
                gql_print_value(node, &tmp);
                gql_buf_printf(message, "String cannot represent a non string value: %s",
                               tmp.data);
            }
        } else {
            ok = true;
            if (out)
                *out = cJSON_CreateString(node->text);
        }
    } else if (is_builtin_scalar(type, "Boolean")) {
        if (node->kind != AST_VALUE_BOOLEAN) {
            if (message) {
                gql_print_value(node, &tmp);
                gql_buf_printf(message, "Boolean cannot represent a non boolean value: %s",
                               tmp.data);
            }
        } else {
            ok = true;
            if (out)
                *out = cJSON_CreateBool(node->boolean);
        }
    } else if (is_builtin_scalar(type, "ID")) {
        if (node->kind != AST_VALUE_STRING && node->kind != AST_VALUE_INT) {
            if (message) {
                gql_print_value(node, &tmp);
                gql_buf_printf(message,
                               "ID cannot represent a non-string and non-integer value: %s",
                               tmp.data);
            }
        } else {
            ok = true;
            if (out)
                *out = cJSON_CreateString(node->text);
        }
    } else if (gql_scalar_is_date_time(type) &&
               (node->kind != AST_VALUE_STRING || !gql_date_time_valid(node->text))) {
        if (message) {
            gql_print_value(node, &tmp);
            gql_date_time_message(tmp.data, message);
        }
    } else {
        cJSON *v = gql_value_from_ast_untyped(node, vars);
        ok = v != NULL;
        if (out)
            *out = v;
        else
            cJSON_Delete(v);
    }
    gql_buf_free(&tmp);
    return ok;
}

bool gql_leaf_parse_literal(const gql_type *type, const ast_value *node, gql_buf *message)
{
    return leaf_parse_literal(type, node, NULL, NULL, message);
}

static const cJSON *variable_value(const cJSON *variables, const char *name)
{
    if (!variables)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(variables, name);
}

static bool is_missing_variable(const ast_value *node, const cJSON *variables)
{
    return node->kind == AST_VALUE_VARIABLE && !variable_value(variables, node->text);
}

cJSON *gql_value_from_ast_untyped(const ast_value *node, const cJSON *variables)
{
    switch (node->kind) {
    case AST_VALUE_NULL:
        return cJSON_CreateNull();
    case AST_VALUE_INT:
    case AST_VALUE_FLOAT:
        /* a custom scalar's literal (24.50 for a Decimal) reaches SQL with its digits */
        return gql_json_number_new(node->text, strlen(node->text));
    case AST_VALUE_STRING:
    case AST_VALUE_ENUM:
        return cJSON_CreateString(node->text);
    case AST_VALUE_BOOLEAN:
        return cJSON_CreateBool(node->boolean);
    case AST_VALUE_LIST: {
        cJSON *list = cJSON_CreateArray();
        for (size_t i = 0; i < node->count; i++) {
            cJSON *item = gql_value_from_ast_untyped(node->items[i], variables);
            cJSON_AddItemToArray(list, item ? item : cJSON_CreateNull());
        }
        return list;
    }
    case AST_VALUE_OBJECT: {
        /* A repeated key keeps its last value, at its last place (as deleting the earlier one
         * and appending would), found through a map: the object may have many keys. */
        cJSON *obj = cJSON_CreateObject();
        cJSON **items = gql_xcalloc(node->count + 1, sizeof(cJSON *));
        gql_map last = {0};
        for (size_t i = 0; i < node->count; i++) {
            items[i] = gql_value_from_ast_untyped(node->fields[i].value, variables);
            if (items[i])
                gql_map_put(&last, node->fields[i].name, &items[i]);
        }
        for (size_t i = 0; i < node->count; i++) {
            if (!items[i])
                continue;
            if (gql_map_get(&last, node->fields[i].name) == &items[i])
                cJSON_AddItemToObject(obj, node->fields[i].name, items[i]);
            else
                cJSON_Delete(items[i]);
        }
        gql_map_free(&last);
        free(items);
        return obj;
    }
    case AST_VALUE_VARIABLE: {
        const cJSON *v = variable_value(variables, node->text);
        return v ? cJSON_Duplicate(v, true) : NULL;
    }
    }
    return NULL;
}

static const ast_object_field *object_field_named(const ast_value *node, const char *name)
{
    const ast_object_field *found = NULL;
    for (size_t i = 0; i < node->count; i++)
        if (strcmp(node->fields[i].name, name) == 0)
            found = &node->fields[i];
    return found;
}

static bool is_one_of(const gql_type *type)
{
    return gql_directive_find(type->directives, type->directive_count, "oneOf") != NULL;
}

bool gql_value_from_ast(const ast_value *node, const gql_type *type, const cJSON *variables,
                        cJSON **out)
{
    cJSON *result = NULL;
    if (out)
        *out = NULL;
    if (node->kind == AST_VALUE_VARIABLE) {
        const cJSON *v = variable_value(variables, node->text);
        if (!v)
            return false;
        if (cJSON_IsNull(v) && type->kind == GQL_KIND_NON_NULL)
            return false;
        if (out)
            *out = cJSON_Duplicate(v, true);
        return true;
    }
    if (type->kind == GQL_KIND_NON_NULL) {
        if (node->kind == AST_VALUE_NULL)
            return false;
        return gql_value_from_ast(node, type->of_type, variables, out);
    }
    if (node->kind == AST_VALUE_NULL) {
        if (out)
            *out = cJSON_CreateNull();
        return true;
    }
    if (type->kind == GQL_KIND_LIST) {
        const gql_type *item_type = type->of_type;
        if (node->kind == AST_VALUE_LIST) {
            result = cJSON_CreateArray();
            for (size_t i = 0; i < node->count; i++) {
                const ast_value *item = node->items[i];
                if (is_missing_variable(item, variables)) {
                    if (item_type->kind == GQL_KIND_NON_NULL)
                        goto invalid;
                    cJSON_AddItemToArray(result, cJSON_CreateNull());
                    continue;
                }
                cJSON *v = NULL;
                if (!gql_value_from_ast(item, item_type, variables, &v))
                    goto invalid;
                cJSON_AddItemToArray(result, v);
            }
        } else {
            cJSON *v = NULL;
            if (!gql_value_from_ast(node, item_type, variables, &v))
                return false;
            result = cJSON_CreateArray();
            cJSON_AddItemToArray(result, v);
        }
        goto valid;
    }
    if (type->kind == GQL_KIND_INPUT_OBJECT) {
        if (node->kind != AST_VALUE_OBJECT)
            return false;
        result = cJSON_CreateObject();
        for (size_t i = 0; i < type->input_field_count; i++) {
            const gql_input_value *field = &type->input_fields[i];
            const ast_object_field *fn = object_field_named(node, field->name);
            if (!fn || is_missing_variable(fn->value, variables)) {
                if (field->default_value)
                    cJSON_AddItemToObject(result, field->name,
                                          cJSON_Duplicate(field->default_value, true));
                else if (field->type->kind == GQL_KIND_NON_NULL)
                    goto invalid;
                continue;
            }
            cJSON *v = NULL;
            if (!gql_value_from_ast(fn->value, field->type, variables, &v))
                goto invalid;
            cJSON_AddItemToObject(result, field->name, v);
        }
        if (is_one_of(type)) {
            if (cJSON_GetArraySize(result) != 1 || cJSON_IsNull(result->child))
                goto invalid;
        }
        goto valid;
    }
    return leaf_parse_literal(type, node, variables, out, NULL);
valid:
    if (out)
        *out = result;
    else
        cJSON_Delete(result);
    return true;
invalid:
    cJSON_Delete(result);
    return false;
}

/* ------------------------------------------------------------------ coerceInputValue */

typedef struct coerce_ctx {
    gql_coerce_error_fn on_error;
    void *context;
    cJSON *path; /* array */
    bool failed;
} coerce_ctx;

static void coerce_report(coerce_ctx *c, const cJSON *invalid, const char *message)
{
    c->failed = true;
    c->on_error(c->context, c->path, invalid, message);
}

static bool is_js_integer(double d)
{
    return isfinite(d) && floor(d) == d;
}

static cJSON *coerce_impl(coerce_ctx *c, const cJSON *input, const gql_type *type)
{
    gql_buf msg; /* only allocated when an error is reported */
    gql_buf_init(&msg);
    cJSON *result = NULL;
    bool is_null = !input || cJSON_IsNull(input);
    if (type->kind == GQL_KIND_NON_NULL) {
        if (!is_null) {
            gql_buf_free(&msg);
            return coerce_impl(c, input, type->of_type);
        }
        gql_buf_puts(&msg, "Expected non-nullable type \"");
        gql_type_print(type, &msg);
        gql_buf_puts(&msg, "\" not to be null.");
        coerce_report(c, input, msg.data);
        goto done;
    }
    if (is_null) {
        result = cJSON_CreateNull();
        goto done;
    }
    if (type->kind == GQL_KIND_LIST) {
        result = cJSON_CreateArray();
        if (cJSON_IsArray(input)) {
            int index = 0;
            for (const cJSON *item = input->child; item; item = item->next, index++) {
                cJSON_AddItemToArray(c->path, cJSON_CreateNumber(index));
                cJSON *v = coerce_impl(c, item, type->of_type);
                cJSON_DeleteItemFromArray(c->path, cJSON_GetArraySize(c->path) - 1);
                cJSON_AddItemToArray(result, v ? v : cJSON_CreateNull());
            }
        } else {
            cJSON *v = coerce_impl(c, input, type->of_type);
            cJSON_AddItemToArray(result, v ? v : cJSON_CreateNull());
        }
        goto done;
    }
    if (type->kind == GQL_KIND_INPUT_OBJECT) {
        if (!cJSON_IsObject(input)) {
            gql_buf_printf(&msg, "Expected type \"%s\" to be an object.", type->name);
            coerce_report(c, input, msg.data);
            goto done;
        }
        result = cJSON_CreateObject();
        for (size_t i = 0; i < type->input_field_count; i++) {
            const gql_input_value *field = &type->input_fields[i];
            const cJSON *fv = cJSON_GetObjectItemCaseSensitive(input, field->name);
            if (!fv) {
                if (field->default_value) {
                    cJSON_AddItemToObject(result, field->name,
                                          cJSON_Duplicate(field->default_value, true));
                } else if (field->type->kind == GQL_KIND_NON_NULL) {
                    gql_buf_reset(&msg);
                    gql_buf_printf(&msg, "Field \"%s\" of required type \"", field->name);
                    gql_type_print(field->type, &msg);
                    gql_buf_puts(&msg, "\" was not provided.");
                    coerce_report(c, input, msg.data);
                }
                continue;
            }
            cJSON_AddItemToArray(c->path, cJSON_CreateString(field->name));
            cJSON *v = coerce_impl(c, fv, field->type);
            cJSON_DeleteItemFromArray(c->path, cJSON_GetArraySize(c->path) - 1);
            cJSON_AddItemToObject(result, field->name, v ? v : cJSON_CreateNull());
        }
        for (const cJSON *item = input->child; item; item = item->next) {
            bool known = false;
            for (size_t i = 0; i < type->input_field_count; i++)
                if (strcmp(type->input_fields[i].name, item->string) == 0)
                    known = true;
            if (known)
                continue;
            const char **names = gql_xmalloc((type->input_field_count + 1) * sizeof(char *));
            const char **sugg = gql_xmalloc((type->input_field_count + 1) * sizeof(char *));
            for (size_t i = 0; i < type->input_field_count; i++)
                names[i] = type->input_fields[i].name;
            size_t n = gql_suggestion_list(item->string, names, type->input_field_count, sugg);
            gql_buf_reset(&msg);
            gql_buf_printf(&msg, "Field \"%s\" is not defined by type \"%s\".", item->string,
                           type->name);
            gql_did_you_mean(&msg, NULL, sugg, n);
            coerce_report(c, input, msg.data);
            free(names);
            free(sugg);
        }
        if (is_one_of(type)) {
            if (cJSON_GetArraySize(result) != 1) {
                gql_buf_reset(&msg);
                gql_buf_printf(&msg, "Exactly one key must be specified for OneOf type \"%s\".",
                               type->name);
                coerce_report(c, input, msg.data);
            }
            if (result->child && cJSON_IsNull(result->child)) {
                gql_buf_reset(&msg);
                gql_buf_printf(&msg, "Field \"%s\" must be non-null.", result->child->string);
                cJSON_AddItemToArray(c->path, cJSON_CreateString(result->child->string));
                coerce_report(c, result->child, msg.data);
                cJSON_DeleteItemFromArray(c->path, cJSON_GetArraySize(c->path) - 1);
            }
        }
        goto done;
    }
    /* leaf: parseValue; inspect() is only needed for error messages */
    gql_buf ins;
    gql_buf_init(&ins);
    bool valid_leaf =
        type->kind == GQL_KIND_ENUM
            ? cJSON_IsString(input) && enum_value_named(type, input->valuestring)
        : is_builtin_scalar(type, "Int")
            ? cJSON_IsNumber(input) && is_js_integer(input->valuedouble) &&
                  input->valuedouble <= 2147483647.0 && input->valuedouble >= -2147483648.0
        : is_builtin_scalar(type, "Float")   ? cJSON_IsNumber(input) && isfinite(input->valuedouble)
        : is_builtin_scalar(type, "String")  ? cJSON_IsString(input) != 0
        : is_builtin_scalar(type, "Boolean") ? cJSON_IsBool(input) != 0
        : is_builtin_scalar(type, "ID")
            ? cJSON_IsString(input) || (cJSON_IsNumber(input) && is_js_integer(input->valuedouble))
            : true;
    if (!valid_leaf)
        gql_inspect(input, &ins);
    if (type->kind == GQL_KIND_ENUM) {
        if (!cJSON_IsString(input)) {
            gql_buf_printf(&msg, "Enum \"%s\" cannot represent non-string value: %s.",
                           type->name, ins.data);
            did_you_mean_enum(&msg, type, ins.data);
            coerce_report(c, input, msg.data);
        } else if (!enum_value_named(type, input->valuestring)) {
            gql_buf_printf(&msg, "Value \"%s\" does not exist in \"%s\" enum.",
                           input->valuestring, type->name);
            did_you_mean_enum(&msg, type, input->valuestring);
            coerce_report(c, input, msg.data);
        } else {
            result = cJSON_CreateString(input->valuestring);
        }
    } else if (is_builtin_scalar(type, "Int")) {
        if (!cJSON_IsNumber(input) || !is_js_integer(input->valuedouble)) {
            gql_buf_printf(&msg, "Int cannot represent non-integer value: %s", ins.data);
            coerce_report(c, input, msg.data);
        } else if (input->valuedouble > 2147483647.0 || input->valuedouble < -2147483648.0) {
            gql_buf_printf(&msg, "Int cannot represent non 32-bit signed integer value: %s",
                           ins.data);
            coerce_report(c, input, msg.data);
        } else {
            result = cJSON_CreateNumber(input->valuedouble);
        }
    } else if (is_builtin_scalar(type, "Float")) {
        if (!cJSON_IsNumber(input) || !isfinite(input->valuedouble)) {
            gql_buf_printf(&msg, "Float cannot represent non numeric value: %s", ins.data);
            coerce_report(c, input, msg.data);
        } else {
            result = cJSON_CreateNumber(input->valuedouble);
        }
    } else if (is_builtin_scalar(type, "String")) {
        if (!cJSON_IsString(input)) {
            gql_buf_printf(&msg, "String cannot represent a non string value: %s", ins.data);
            coerce_report(c, input, msg.data);
        } else {
            result = cJSON_CreateString(input->valuestring);
        }
    } else if (is_builtin_scalar(type, "Boolean")) {
        if (!cJSON_IsBool(input)) {
            gql_buf_printf(&msg, "Boolean cannot represent a non boolean value: %s", ins.data);
            coerce_report(c, input, msg.data);
        } else {
            result = cJSON_CreateBool(cJSON_IsTrue(input));
        }
    } else if (is_builtin_scalar(type, "ID")) {
        const char *digits = gql_json_number_text(input);
        if (cJSON_IsString(input)) {
            result = cJSON_CreateString(input->valuestring);
        } else if (digits != NULL) {
            /* a key above 2^53 sent as a JSON number keeps every digit */
            gql_buf key;
            gql_buf_init(&key);
            if (gql_json_number_integer_digits(digits, &key)) {
                result = cJSON_CreateString(key.data);
            } else {
                if (ins.len == 0) /* a double would have been an integer: 2^53 + 0.5 */
                    gql_inspect(input, &ins);
                gql_buf_printf(&msg, "ID cannot represent value: %s", ins.data);
                coerce_report(c, input, msg.data);
            }
            gql_buf_free(&key);
        } else if (cJSON_IsNumber(input) && is_js_integer(input->valuedouble)) {
            gql_buf num;
            gql_buf_init(&num);
            gql_buf_json_number(&num, input->valuedouble);
            result = cJSON_CreateString(num.data);
            gql_buf_free(&num);
        } else {
            gql_buf_printf(&msg, "ID cannot represent value: %s", ins.data);
            coerce_report(c, input, msg.data);
        }
    } else if (gql_scalar_is_date_time(type) &&
               !(cJSON_IsString(input) && gql_date_time_valid(input->valuestring))) {
        gql_buf shown;
        gql_buf_init(&shown);
        gql_inspect(input, &shown);
        gql_date_time_message(shown.data, &msg);
        gql_buf_free(&shown);
        coerce_report(c, input, msg.data);
    } else {
        result = cJSON_Duplicate(input, true);
    }
    gql_buf_free(&ins);
done:
    gql_buf_free(&msg);
    return result;
}

cJSON *gql_coerce_input_value(const cJSON *input, const gql_type *type,
                              gql_coerce_error_fn on_error, void *context)
{
    coerce_ctx c = {on_error, context, cJSON_CreateArray(), false};
    cJSON *v = coerce_impl(&c, input, type);
    cJSON_Delete(c.path);
    if (c.failed) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

void gql_print_path_array(const cJSON *path, gql_buf *out)
{
    for (const cJSON *item = path ? path->child : NULL; item; item = item->next) {
        if (cJSON_IsNumber(item))
            gql_buf_printf(out, "[%d]", item->valueint);
        else
            gql_buf_printf(out, ".%s", item->valuestring);
    }
}

/* ------------------------------------------------------------------ astFromValue + print */

static bool integer_string(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        return s[1] == 0;
    if (*s < '1' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    return *s == 0;
}

/* Returns false when astFromValue yields null (nothing printed). */
static bool print_ast_from_value(const cJSON *value, const gql_type *type, gql_buf *out)
{
    if (type->kind == GQL_KIND_NON_NULL) {
        if (!value || cJSON_IsNull(value))
            return false;
        return print_ast_from_value(value, type->of_type, out);
    }
    if (!value)
        return false;
    if (cJSON_IsNull(value)) {
        gql_buf_puts(out, "null");
        return true;
    }
    if (type->kind == GQL_KIND_LIST) {
        if (cJSON_IsArray(value)) {
            gql_buf_puts(out, "[");
            bool first = true;
            for (const cJSON *item = value->child; item; item = item->next) {
                size_t mark = out->len;
                if (!first)
                    gql_buf_puts(out, ", ");
                if (!print_ast_from_value(item, type->of_type, out)) {
                    out->len = mark;
                    out->data[mark] = 0;
                    continue;
                }
                first = false;
            }
            gql_buf_puts(out, "]");
            return true;
        }
        return print_ast_from_value(value, type->of_type, out);
    }
    if (type->kind == GQL_KIND_INPUT_OBJECT) {
        if (!cJSON_IsObject(value))
            return false;
        gql_buf_puts(out, "{");
        bool first = true;
        for (size_t i = 0; i < type->input_field_count; i++) {
            const gql_input_value *f = &type->input_fields[i];
            const cJSON *fv = cJSON_GetObjectItemCaseSensitive(value, f->name);
            if (!fv)
                continue;
            size_t mark = out->len;
            gql_buf_printf(out, "%s%s: ", first ? "" : ", ", f->name);
            if (!print_ast_from_value(fv, f->type, out)) {
                out->len = mark;
                out->data[mark] = 0;
                continue;
            }
            first = false;
        }
        gql_buf_puts(out, "}");
        return true;
    }
    /* leaf: serialize then literal */
    if (type->kind == GQL_KIND_ENUM) {
        if (!cJSON_IsString(value) || !enum_value_named(type, value->valuestring))
            return false;
        gql_buf_puts(out, value->valuestring);
        return true;
    }
    if (cJSON_IsBool(value)) {
        if (is_builtin_scalar(type, "Int") || is_builtin_scalar(type, "Float"))
            gql_buf_puts(out, cJSON_IsTrue(value) ? "1" : "0");
        else if (is_builtin_scalar(type, "String") || is_builtin_scalar(type, "ID"))
            gql_buf_puts(out, cJSON_IsTrue(value) ? "\"true\"" : "\"false\"");
        else
            gql_buf_puts(out, cJSON_IsTrue(value) ? "true" : "false");
        return true;
    }
    if (cJSON_IsNumber(value)) {
        gql_buf num;
        gql_buf_init(&num);
        gql_buf_json_number(&num, value->valuedouble);
        if (is_builtin_scalar(type, "String") || is_builtin_scalar(type, "ID"))
            gql_print_string(num.data, num.len, out);
        else
            gql_buf_append(out, num.data, num.len);
        gql_buf_free(&num);
        return true;
    }
    if (cJSON_IsString(value)) {
        const char *s = value->valuestring;
        if (is_builtin_scalar(type, "ID") && integer_string(s))
            gql_buf_puts(out, s);
        else if (is_builtin_scalar(type, "Int") || is_builtin_scalar(type, "Float"))
            gql_buf_puts(out, s); /* serialize(Number(s)); good enough for numeric strings */
        else
            gql_print_string(s, strlen(s), out);
        return true;
    }
    /* a custom scalar holding a list or an object: graphql-js prints it as a literal */
    if (cJSON_IsArray(value)) {
        gql_buf_puts(out, "[");
        for (const cJSON *item = value->child; item; item = item->next) {
            if (item != value->child)
                gql_buf_puts(out, ", ");
            print_ast_from_value(item, type, out);
        }
        gql_buf_puts(out, "]");
        return true;
    }
    if (cJSON_IsObject(value)) {
        gql_buf_puts(out, "{");
        for (const cJSON *item = value->child; item; item = item->next) {
            gql_buf_printf(out, "%s%s: ", item == value->child ? "" : ", ", item->string);
            print_ast_from_value(item, type, out);
        }
        gql_buf_puts(out, "}");
        return true;
    }
    return false;
}

bool gql_print_input_value(const cJSON *value, const gql_type *type, gql_buf *out)
{
    size_t mark = out->len;
    if (!print_ast_from_value(value, type, out)) {
        out->len = mark;
        if (out->data)
            out->data[mark] = 0;
        return false;
    }
    return true;
}
