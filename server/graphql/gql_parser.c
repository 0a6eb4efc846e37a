/* gql_parser: recursive-descent parser of GraphQL documents over gql_lexer's tokens (October
 * 2021 spec, graphql-js 16 wording). Depth is checked before every descent: no stack overflow. */
#include "config.h"

#include "server/graphql/gql_lexer.h"

#include <stdio.h>
#include <string.h>

static const char *const token_kind_desc[] = {
    [TOK_SOF] = "<SOF>",       [TOK_EOF] = "<EOF>",     [TOK_BANG] = "\"!\"",
    [TOK_DOLLAR] = "\"$\"",    [TOK_AMP] = "\"&\"",     [TOK_PAREN_L] = "\"(\"",
    [TOK_PAREN_R] = "\")\"",   [TOK_SPREAD] = "\"...\"", [TOK_COLON] = "\":\"",
    [TOK_EQUALS] = "\"=\"",    [TOK_AT] = "\"@\"",      [TOK_BRACKET_L] = "\"[\"",
    [TOK_BRACKET_R] = "\"]\"", [TOK_BRACE_L] = "\"{\"", [TOK_PIPE] = "\"|\"",
    [TOK_BRACE_R] = "\"}\"",   [TOK_NAME] = "Name",     [TOK_INT] = "Int",
    [TOK_FLOAT] = "Float",     [TOK_STRING] = "String", [TOK_BLOCK_STRING] = "BlockString",
};


/* ------------------------------------------------------------------ parser helpers */

static void describe_token(const token *t, char *out, size_t size)
{
    if (t->kind == TOK_NAME || t->kind == TOK_INT || t->kind == TOK_FLOAT ||
        t->kind == TOK_STRING || t->kind == TOK_BLOCK_STRING) {
        size_t n = (size_t)snprintf(out, size, "%s \"", token_kind_desc[t->kind]);
        /* the value may hold U+0000: write it as C0 80 so the message stays a C string */
        for (size_t i = 0; i < t->value_length && n + 4 < size; i++) {
            if (t->value[i] == '\0') {
                out[n++] = (char)0xC0;
                out[n++] = (char)0x80;
            } else {
                out[n++] = t->value[i];
            }
        }
        out[n++] = '"';
        out[n] = '\0';
    } else {
        snprintf(out, size, "%s", token_kind_desc[t->kind]);
    }
}

static _Noreturn void unexpected(parser *p, const token *t)
{
    char desc[3500];
    describe_token(t ? t : &p->tok, desc, sizeof(desc));
    gql_parse_fail(p, (t ? t : &p->tok)->start, "Unexpected %s.", desc);
}

static bool peek(parser *p, token_kind kind)
{
    return p->tok.kind == kind;
}

static token expect(parser *p, token_kind kind)
{
    token t = p->tok;
    if (t.kind == kind) {
        advance(p);
        return t;
    }
    char desc[3500];
    describe_token(&t, desc, sizeof(desc));
    gql_parse_fail(p, t.start, "Expected %s, found %s.", token_kind_desc[kind], desc);
}

static bool expect_optional(parser *p, token_kind kind)
{
    if (p->tok.kind == kind) {
        advance(p);
        return true;
    }
    return false;
}

static bool token_is_keyword(const token *t, const char *word)
{
    return t->kind == TOK_NAME && t->value_length == strlen(word) &&
           memcmp(t->value, word, t->value_length) == 0;
}

static void expect_keyword(parser *p, const char *word)
{
    if (token_is_keyword(&p->tok, word)) {
        advance(p);
        return;
    }
    char desc[3500];
    describe_token(&p->tok, desc, sizeof(desc));
    gql_parse_fail(p, p->tok.start, "Expected \"%s\", found %s.", word, desc);
}

static bool expect_optional_keyword(parser *p, const char *word)
{
    if (token_is_keyword(&p->tok, word)) {
        advance(p);
        return true;
    }
    return false;
}

static void enter_depth(parser *p)
{
    if (++p->depth > p->max_depth)
        gql_parse_fail(p, p->tok.start, "Document exceeds the maximum nesting depth of %u.",
                       p->max_depth);
}

/* Growable arrays of structs in the arena. */
typedef struct avec {
    void *data;
    size_t count;
    size_t cap;
} avec;

static void *avec_push(parser *p, avec *v, size_t item_size)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        void *d = gql_arena_alloc(p->arena, cap * item_size);
        if (v->count)
            memcpy(d, v->data, v->count * item_size);
        v->data = d;
        v->cap = cap;
    }
    return (char *)v->data + item_size * v->count++;
}

static const char *parse_name(parser *p, uint32_t *pos)
{
    token t = expect(p, TOK_NAME);
    if (pos)
        *pos = t.start;
    return gql_arena_strndup(p->arena, t.value, t.value_length);
}

/* ------------------------------------------------------------------ values and types */

static ast_value *parse_value(parser *p, bool is_const);

static ast_value *parse_value(parser *p, bool is_const)
{
    token t = p->tok;
    ast_value *v = gql_arena_alloc(p->arena, sizeof(*v));
    v->pos = t.start;
    switch (t.kind) {
    case TOK_BRACKET_L: {
        enter_depth(p);
        advance(p);
        v->kind = AST_VALUE_LIST;
        avec items = {0};
        while (!expect_optional(p, TOK_BRACKET_R))
            *(ast_value **)avec_push(p, &items, sizeof(ast_value *)) = parse_value(p, is_const);
        v->items = items.data;
        v->count = items.count;
        p->depth--;
        return v;
    }
    case TOK_BRACE_L: {
        enter_depth(p);
        advance(p);
        v->kind = AST_VALUE_OBJECT;
        avec fields = {0};
        while (!expect_optional(p, TOK_BRACE_R)) {
            ast_object_field *f = avec_push(p, &fields, sizeof(ast_object_field));
            f->pos = p->tok.start;
            f->name = parse_name(p, NULL);
            expect(p, TOK_COLON);
            f->value = parse_value(p, is_const);
        }
        v->fields = fields.data;
        v->count = fields.count;
        p->depth--;
        return v;
    }
    case TOK_INT:
    case TOK_FLOAT:
        advance(p);
        v->kind = t.kind == TOK_INT ? AST_VALUE_INT : AST_VALUE_FLOAT;
        v->text = gql_arena_strndup(p->arena, t.value, t.value_length);
        v->text_length = t.value_length;
        return v;
    case TOK_STRING:
    case TOK_BLOCK_STRING:
        advance(p);
        v->kind = AST_VALUE_STRING;
        v->text = t.value;
        v->text_length = t.value_length;
        v->block = t.kind == TOK_BLOCK_STRING;
        return v;
    case TOK_NAME:
        advance(p);
        if (token_is_keyword(&t, "true") || token_is_keyword(&t, "false")) {
            v->kind = AST_VALUE_BOOLEAN;
            v->boolean = t.value[0] == 't';
        } else if (token_is_keyword(&t, "null")) {
            v->kind = AST_VALUE_NULL;
        } else {
            v->kind = AST_VALUE_ENUM;
            v->text = gql_arena_strndup(p->arena, t.value, t.value_length);
            v->text_length = t.value_length;
        }
        return v;
    case TOK_DOLLAR:
        if (is_const) {
            advance(p);
            if (p->tok.kind == TOK_NAME)
                gql_parse_fail(p, t.start, "Unexpected variable \"$%.*s\" in constant value.",
                               (int)p->tok.value_length, p->tok.value);
            unexpected(p, &t);
        }
        advance(p);
        v->kind = AST_VALUE_VARIABLE;
        v->text = parse_name(p, NULL);
        v->text_length = strlen(v->text);
        return v;
    default:
        unexpected(p, NULL);
    }
}

static ast_type *parse_type(parser *p)
{
    ast_type *t = gql_arena_alloc(p->arena, sizeof(*t));
    t->pos = p->tok.start;
    if (expect_optional(p, TOK_BRACKET_L)) {
        enter_depth(p);
        t->kind = AST_TYPE_LIST;
        t->inner = parse_type(p);
        expect(p, TOK_BRACKET_R);
        p->depth--;
    } else {
        t->kind = AST_TYPE_NAMED;
        t->name = parse_name(p, NULL);
    }
    if (expect_optional(p, TOK_BANG)) {
        ast_type *nn = gql_arena_alloc(p->arena, sizeof(*nn));
        nn->kind = AST_TYPE_NON_NULL;
        nn->pos = t->pos;
        nn->inner = t;
        return nn;
    }
    return t;
}

static void parse_arguments(parser *p, bool is_const, ast_argument **out, size_t *count)
{
    avec args = {0};
    if (expect_optional(p, TOK_PAREN_L)) {
        do {
            ast_argument *a = avec_push(p, &args, sizeof(ast_argument));
            a->pos = p->tok.start;
            a->name = parse_name(p, NULL);
            expect(p, TOK_COLON);
            a->value = parse_value(p, is_const);
        } while (!expect_optional(p, TOK_PAREN_R));
    }
    *out = args.data;
    *count = args.count;
}

static void parse_directives(parser *p, bool is_const, ast_directive **out, size_t *count)
{
    avec dirs = {0};
    while (peek(p, TOK_AT)) {
        ast_directive *d = avec_push(p, &dirs, sizeof(ast_directive));
        d->pos = p->tok.start;
        advance(p);
        d->name = parse_name(p, NULL);
        parse_arguments(p, is_const, &d->arguments, &d->argument_count);
    }
    *out = dirs.data;
    *count = dirs.count;
}

/* ------------------------------------------------------------------ executable definitions */

static ast_selection_set *parse_selection_set(parser *p);

static ast_selection *parse_selection(parser *p)
{
    ast_selection *s = gql_arena_alloc(p->arena, sizeof(*s));
    s->pos = p->tok.start;
    if (expect_optional(p, TOK_SPREAD)) {
        bool has_type_condition = expect_optional_keyword(p, "on");
        if (!has_type_condition && peek(p, TOK_NAME)) {
            s->kind = AST_SELECTION_FRAGMENT_SPREAD;
            if (token_is_keyword(&p->tok, "on"))
                unexpected(p, NULL);
            s->name = parse_name(p, &s->name_pos);
            parse_directives(p, false, &s->directives, &s->directive_count);
            return s;
        }
        s->kind = AST_SELECTION_INLINE_FRAGMENT;
        if (has_type_condition)
            s->type_condition = parse_name(p, &s->type_condition_pos);
        parse_directives(p, false, &s->directives, &s->directive_count);
        s->selection_set = parse_selection_set(p);
        return s;
    }
    s->kind = AST_SELECTION_FIELD;
    const char *name_or_alias = parse_name(p, &s->name_pos);
    if (expect_optional(p, TOK_COLON)) {
        s->alias = name_or_alias;
        s->name = parse_name(p, &s->name_pos);
    } else {
        s->name = name_or_alias;
    }
    parse_arguments(p, false, &s->arguments, &s->argument_count);
    parse_directives(p, false, &s->directives, &s->directive_count);
    if (peek(p, TOK_BRACE_L))
        s->selection_set = parse_selection_set(p);
    return s;
}

static ast_selection_set *parse_selection_set(parser *p)
{
    ast_selection_set *set = gql_arena_alloc(p->arena, sizeof(*set));
    set->pos = p->tok.start;
    if (peek(p, TOK_BRACE_L))
        enter_depth(p);
    expect(p, TOK_BRACE_L);
    avec items = {0};
    do {
        *(ast_selection **)avec_push(p, &items, sizeof(ast_selection *)) = parse_selection(p);
    } while (!expect_optional(p, TOK_BRACE_R));
    p->depth--;
    set->items = items.data;
    set->count = items.count;
    return set;
}

static const char *parse_description(parser *p)
{
    if (peek(p, TOK_STRING) || peek(p, TOK_BLOCK_STRING)) {
        const char *d = p->tok.value;
        advance(p);
        return d;
    }
    return NULL;
}

static gql_operation_type parse_operation_type(parser *p)
{
    token t = expect(p, TOK_NAME);
    if (token_is_keyword(&t, "query"))
        return GQL_OPERATION_QUERY;
    if (token_is_keyword(&t, "mutation"))
        return GQL_OPERATION_MUTATION;
    if (token_is_keyword(&t, "subscription"))
        return GQL_OPERATION_SUBSCRIPTION;
    unexpected(p, &t);
}

static ast_definition *parse_operation(parser *p)
{
    ast_definition *d = gql_arena_alloc(p->arena, sizeof(*d));
    d->kind = AST_DEF_OPERATION;
    d->pos = p->tok.start;
    if (peek(p, TOK_BRACE_L)) {
        d->operation = GQL_OPERATION_QUERY;
        d->selection_set = parse_selection_set(p);
        return d;
    }
    d->description = parse_description(p);
    d->operation = parse_operation_type(p);
    if (peek(p, TOK_NAME))
        d->name = parse_name(p, &d->name_pos);
    avec vars = {0};
    if (expect_optional(p, TOK_PAREN_L)) {
        do {
            ast_variable_definition *v = avec_push(p, &vars, sizeof(*v));
            v->pos = p->tok.start;
            parse_description(p);
            v->pos = p->tok.start;
            expect(p, TOK_DOLLAR);
            v->name = parse_name(p, &v->name_pos);
            expect(p, TOK_COLON);
            v->type = parse_type(p);
            if (expect_optional(p, TOK_EQUALS))
                v->default_value = parse_value(p, true);
            parse_directives(p, true, &v->directives, &v->directive_count);
        } while (!expect_optional(p, TOK_PAREN_R));
    }
    d->variables = vars.data;
    d->variable_count = vars.count;
    parse_directives(p, false, &d->directives, &d->directive_count);
    d->selection_set = parse_selection_set(p);
    return d;
}

static ast_definition *parse_fragment(parser *p)
{
    ast_definition *d = gql_arena_alloc(p->arena, sizeof(*d));
    d->kind = AST_DEF_FRAGMENT;
    d->pos = p->tok.start;
    d->description = parse_description(p);
    expect_keyword(p, "fragment");
    if (token_is_keyword(&p->tok, "on"))
        unexpected(p, NULL);
    d->name = parse_name(p, &d->name_pos);
    expect_keyword(p, "on");
    d->type_condition = parse_name(p, &d->type_condition_pos);
    parse_directives(p, false, &d->directives, &d->directive_count);
    d->selection_set = parse_selection_set(p);
    return d;
}

/* ------------------------------------------------------------------ type system definitions */

static void parse_input_value_defs(parser *p, token_kind open, token_kind close,
                                   ast_input_value_def **out, size_t *count)
{
    avec defs = {0};
    if (expect_optional(p, open)) {
        do {
            ast_input_value_def *v = avec_push(p, &defs, sizeof(*v));
            v->pos = p->tok.start;
            v->description = parse_description(p);
            v->name = parse_name(p, &v->name_pos);
            expect(p, TOK_COLON);
            v->type = parse_type(p);
            if (expect_optional(p, TOK_EQUALS))
                v->default_value = parse_value(p, true);
            parse_directives(p, true, &v->directives, &v->directive_count);
        } while (!expect_optional(p, close));
    }
    *out = defs.data;
    *count = defs.count;
}

static void parse_named_list(parser *p, token_kind delimiter, ast_definition *d)
{
    avec refs = {0};
    expect_optional(p, delimiter);
    do {
        ast_named_ref *r = avec_push(p, &refs, sizeof(*r));
        r->pos = p->tok.start;
        r->name = parse_name(p, NULL);
    } while (expect_optional(p, delimiter));
    d->types = refs.data;
    d->type_count = refs.count;
}

static void parse_fields_definition(parser *p, ast_definition *d)
{
    avec fields = {0};
    if (expect_optional(p, TOK_BRACE_L)) {
        do {
            ast_field_def *f = avec_push(p, &fields, sizeof(*f));
            f->pos = p->tok.start;
            f->description = parse_description(p);
            f->name = parse_name(p, &f->name_pos);
            parse_input_value_defs(p, TOK_PAREN_L, TOK_PAREN_R, &f->arguments,
                                   &f->argument_count);
            expect(p, TOK_COLON);
            f->type = parse_type(p);
            parse_directives(p, true, &f->directives, &f->directive_count);
        } while (!expect_optional(p, TOK_BRACE_R));
    }
    d->fields = fields.data;
    d->field_count = fields.count;
}

static const char *const directive_location_names[] = {
    "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT", "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION", "INTERFACE", "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION", "DIRECTIVE_DEFINITION",
};

const char *gql_directive_location_name(unsigned location)
{
    for (size_t i = 0; i < sizeof(directive_location_names) / sizeof(*directive_location_names);
         i++)
        if (location == 1u << i)
            return directive_location_names[i];
    return "";
}

static ast_definition *parse_type_system(parser *p, bool extension, const token *keyword)
{
    ast_definition *d = gql_arena_alloc(p->arena, sizeof(*d));
    d->pos = p->tok.start;
    d->extension = extension;
    if (extension) {
        expect_keyword(p, "extend");
    } else {
        d->description = parse_description(p);
    }
    token kw = p->tok;
    advance(p); /* the keyword itself, already checked by the caller */
    (void)keyword;
    if (token_is_keyword(&kw, "schema")) {
        d->kind = AST_DEF_SCHEMA;
        parse_directives(p, true, &d->directives, &d->directive_count);
        avec refs = {0}, ops = {0};
        if (extension ? expect_optional(p, TOK_BRACE_L) : (expect(p, TOK_BRACE_L), true)) {
            do {
                *(gql_operation_type *)avec_push(p, &ops, sizeof(gql_operation_type)) =
                    parse_operation_type(p);
                expect(p, TOK_COLON);
                ast_named_ref *r = avec_push(p, &refs, sizeof(*r));
                r->pos = p->tok.start;
                r->name = parse_name(p, NULL);
            } while (!expect_optional(p, TOK_BRACE_R));
        }
        d->types = refs.data;
        d->type_count = refs.count;
        d->root_operations = ops.data;
        if (extension && d->directive_count == 0 && d->type_count == 0)
            unexpected(p, NULL);
        return d;
    }
    if (token_is_keyword(&kw, "directive")) {
        d->kind = AST_DEF_DIRECTIVE;
        expect(p, TOK_AT);
        d->name = parse_name(p, &d->name_pos);
        parse_input_value_defs(p, TOK_PAREN_L, TOK_PAREN_R, &d->input_values,
                               &d->input_value_count);
        d->repeatable = expect_optional_keyword(p, "repeatable");
        expect_keyword(p, "on");
        expect_optional(p, TOK_PIPE);
        avec order = {0};
        do {
            token t = expect(p, TOK_NAME);
            unsigned bit = 0;
            for (size_t i = 0;
                 i < sizeof(directive_location_names) / sizeof(*directive_location_names); i++)
                if (token_is_keyword(&t, directive_location_names[i]))
                    bit = 1u << i;
            if (!bit)
                unexpected(p, &t);
            d->locations |= bit;
            *(unsigned *)avec_push(p, &order, sizeof(unsigned)) = bit;
        } while (expect_optional(p, TOK_PIPE));
        d->location_order = order.data;
        d->location_count = order.count;
        return d;
    }
    d->name = parse_name(p, &d->name_pos);
    if (token_is_keyword(&kw, "scalar")) {
        d->kind = AST_DEF_SCALAR;
        parse_directives(p, true, &d->directives, &d->directive_count);
        if (extension && d->directive_count == 0)
            unexpected(p, NULL);
    } else if (token_is_keyword(&kw, "type") || token_is_keyword(&kw, "interface")) {
        d->kind = kw.value[0] == 't' ? AST_DEF_OBJECT : AST_DEF_INTERFACE;
        if (expect_optional_keyword(p, "implements"))
            parse_named_list(p, TOK_AMP, d);
        parse_directives(p, true, &d->directives, &d->directive_count);
        parse_fields_definition(p, d);
        if (extension && d->type_count == 0 && d->directive_count == 0 && d->field_count == 0)
            unexpected(p, NULL);
    } else if (token_is_keyword(&kw, "union")) {
        d->kind = AST_DEF_UNION;
        parse_directives(p, true, &d->directives, &d->directive_count);
        if (expect_optional(p, TOK_EQUALS))
            parse_named_list(p, TOK_PIPE, d);
        if (extension && d->directive_count == 0 && d->type_count == 0)
            unexpected(p, NULL);
    } else if (token_is_keyword(&kw, "enum")) {
        d->kind = AST_DEF_ENUM;
        parse_directives(p, true, &d->directives, &d->directive_count);
        avec values = {0};
        if (expect_optional(p, TOK_BRACE_L)) {
            do {
                ast_enum_value_def *v = avec_push(p, &values, sizeof(*v));
                v->pos = p->tok.start;
                v->description = parse_description(p);
                if (token_is_keyword(&p->tok, "true") || token_is_keyword(&p->tok, "false") ||
                    token_is_keyword(&p->tok, "null")) {
                    char desc[3500];
                    describe_token(&p->tok, desc, sizeof(desc));
                    gql_parse_fail(p, p->tok.start,
                                   "%s is reserved and cannot be used for an enum value.", desc);
                }
                v->name = parse_name(p, &v->name_pos);
                parse_directives(p, true, &v->directives, &v->directive_count);
            } while (!expect_optional(p, TOK_BRACE_R));
        }
        d->enum_values = values.data;
        d->enum_value_count = values.count;
        if (extension && d->directive_count == 0 && d->enum_value_count == 0)
            unexpected(p, NULL);
    } else { /* input */
        d->kind = AST_DEF_INPUT_OBJECT;
        parse_directives(p, true, &d->directives, &d->directive_count);
        parse_input_value_defs(p, TOK_BRACE_L, TOK_BRACE_R, &d->input_values,
                               &d->input_value_count);
        if (extension && d->directive_count == 0 && d->input_value_count == 0)
            unexpected(p, NULL);
    }
    return d;
}

static bool is_type_system_keyword(const token *t)
{
    static const char *const words[] = {"schema", "scalar",  "type",  "interface",
                                        "union",  "enum",    "input", "directive"};
    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
        if (token_is_keyword(t, words[i]))
            return true;
    return false;
}

static ast_definition *parse_definition(parser *p)
{
    if (peek(p, TOK_BRACE_L))
        return parse_operation(p);
    bool has_description = peek(p, TOK_STRING) || peek(p, TOK_BLOCK_STRING);
    token keyword = has_description ? lookahead(p) : p->tok;
    if (has_description && keyword.kind == TOK_BRACE_L)
        gql_parse_fail(p, p->tok.start,
                       "Unexpected description, descriptions are not supported on shorthand "
                       "queries.");
    if (keyword.kind == TOK_NAME) {
        if (is_type_system_keyword(&keyword))
            return parse_type_system(p, false, &keyword);
        if (token_is_keyword(&keyword, "query") || token_is_keyword(&keyword, "mutation") ||
            token_is_keyword(&keyword, "subscription"))
            return parse_operation(p);
        if (token_is_keyword(&keyword, "fragment"))
            return parse_fragment(p);
        if (has_description)
            gql_parse_fail(p, p->tok.start,
                           "Unexpected description, only GraphQL definitions support "
                           "descriptions.");
        if (token_is_keyword(&keyword, "extend")) {
            token next = lookahead(p);
            if (next.kind == TOK_NAME && is_type_system_keyword(&next) &&
                !token_is_keyword(&next, "directive"))
                return parse_type_system(p, true, &next);
            unexpected(p, &next);
        }
    }
    unexpected(p, &keyword);
}

void gql_limits_default(gql_limits *limits)
{
    limits->max_document_bytes = GQL_DEFAULT_MAX_DOCUMENT_BYTES;
    limits->max_tokens = GQL_DEFAULT_MAX_TOKENS;
    limits->max_depth = GQL_DEFAULT_MAX_DEPTH;
}

ast_document *gql_parse(gql_arena *arena, const char *source, size_t length,
                        const gql_limits *limits, gql_parse_error *error)
{
    gql_limits defaults;
    if (!limits) {
        gql_limits_default(&defaults);
        limits = &defaults;
    }
    memset(error, 0, sizeof(*error));
    if (length > limits->max_document_bytes || length > UINT32_MAX - 16) {
        snprintf(error->message, sizeof(error->message),
                 "Document is %zu bytes, more than the limit of %zu bytes. Parsing aborted.",
                 length, limits->max_document_bytes);
        return NULL;
    }
    parser *p = gql_arena_alloc(arena, sizeof(*p));
    p->arena = arena;
    p->src = source;
    p->len = length;
    p->max_tokens = limits->max_tokens ? limits->max_tokens : SIZE_MAX;
    p->max_depth = limits->max_depth ? limits->max_depth : GQL_DEFAULT_MAX_DEPTH;
    p->error = error;
    ast_document *doc = gql_arena_alloc(arena, sizeof(*doc));
    doc->source = source;
    doc->source_length = length;
    if (setjmp(p->fail))
        return NULL;
    p->tok.kind = TOK_SOF;
    p->tok.start = p->tok.end = 0;
    advance(p);
    avec defs = {0};
    do {
        *(ast_definition **)avec_push(p, &defs, sizeof(ast_definition *)) = parse_definition(p);
    } while (!expect_optional(p, TOK_EOF));
    doc->definitions = defs.data;
    doc->count = defs.count;
    doc->token_count = p->token_count;
    return doc;
}

const ast_directive *gql_ast_directive(const ast_directive *directives, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(directives[i].name, name) == 0)
            return &directives[i];
    return NULL;
}

const ast_argument *gql_ast_argument(const ast_directive *directive, const char *name)
{
    for (size_t i = 0; i < directive->argument_count; i++)
        if (strcmp(directive->arguments[i].name, name) == 0)
            return &directive->arguments[i];
    return NULL;
}
