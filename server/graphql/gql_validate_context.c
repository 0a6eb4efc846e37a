/* gql_validate_context: what every validation rule uses: error reporting under the error
 * limit, work budgets, formatting into the context's arena, suggestions, fragment spreads. */
#include "config.h"

#include "server/graphql/gql_validate_internal.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ errors */

static gql_location loc_of(vctx *c, uint32_t pos)
{
    return gql_source_location(c->doc->source, c->doc->source_length, pos);
}

void gql_validate_report(vctx *c, const char *message, const uint32_t *positions, size_t count)
{
    if (c->collecting)
        return;
    if (c->error_count >= MAX_ERRORS) {
        gql_error_append(c->errors,
                         "Too many validation errors, error limit reached. Validation aborted.");
        longjmp(c->abort, 1);
    }
    cJSON *e = gql_error_append(c->errors, message);
    for (size_t i = 0; i < count; i++)
        gql_error_add_location(e, loc_of(c, positions[i]));
    c->error_count++;
}

const char *gql_validate_vfmt(vctx *c, const char *format, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    char small[512];
    int n = vsnprintf(small, sizeof(small), format, ap);
    char *out = gql_arena_alloc(&c->arena, (size_t)n + 1);
    if ((size_t)n < sizeof(small))
        memcpy(out, small, (size_t)n + 1);
    else
        vsnprintf(out, (size_t)n + 1, format, again);
    va_end(again);
    return out;
}

const char *gql_validate_did_you_mean(vctx *c, const char *sub, const char *input,
                                const char *const *options, size_t count)
{
    const char **sugg = gql_arena_alloc(&c->arena, (count + 1) * sizeof(char *));
    size_t n = gql_suggestion_list(input, options, count, sugg);
    gql_buf b;
    gql_buf_init(&b);
    gql_buf_puts(&b, "");
    gql_did_you_mean(&b, sub, sugg, n);
    const char *s = gql_arena_strdup(&c->arena, b.data);
    gql_buf_free(&b);
    return s;
}

/* ------------------------------------------------------------------ document helpers */

uint32_t *gql_validate_first_same_name(vctx *c, const void *items, size_t count, size_t stride,
                                       size_t name_offset)
{
    uint32_t *first = gql_arena_alloc(&c->arena, (count + 1) * sizeof(uint32_t));
    const char *base = items;
    /* few names (the usual case): no map, no allocation */
    if (count <= 8) {
        for (size_t i = 0; i < count; i++) {
            const char *name = *(const char *const *)(base + i * stride + name_offset);
            size_t k = 0;
            while (k < i && strcmp(*(const char *const *)(base + k * stride + name_offset), name))
                k++;
            first[i] = (uint32_t)k;
        }
        return first;
    }
    gql_map seen = {0};
    for (size_t i = 0; i < count; i++) {
        const char *name = *(const char *const *)(base + i * stride + name_offset);
        uintptr_t known = (uintptr_t)gql_map_get(&seen, name);
        if (known) {
            first[i] = (uint32_t)(known - 1);
        } else {
            first[i] = (uint32_t)i;
            gql_map_put(&seen, name, (void *)(uintptr_t)(i + 1));
        }
    }
    gql_map_free(&seen);
    return first;
}

/* getFragmentSpreads: spreads of a selection set, in graphql-js's (stack) order. */
void gql_validate_fragment_spreads(vctx *c, const ast_selection_set *set, gql_vec *out)
{
    gql_vec stack = {0};
    gql_vec_push(&stack, (void *)set);
    while (stack.count) {
        const ast_selection_set *s = stack.items[--stack.count];
        for (size_t i = 0; i < s->count; i++) {
            const ast_selection *sel = s->items[i];
            if (sel->kind == AST_SELECTION_FRAGMENT_SPREAD)
                gql_vec_push(out, (void *)sel);
            else if (sel->selection_set)
                gql_vec_push(&stack, sel->selection_set);
        }
    }
    gql_vec_free(&stack);
}

/* getRecursivelyReferencedFragmentsForOperations */
void gql_validate_referenced_fragments(vctx *c, const ast_definition *const *ops, size_t op_count,
                                 gql_vec *out)
{
    gql_vec names = {0};
    gql_map seen = {0};
    for (size_t i = 0; i < op_count; i++) {
        gql_vec spreads = {0};
        gql_validate_fragment_spreads(c, ops[i]->selection_set, &spreads);
        for (size_t k = 0; k < spreads.count; k++) {
            const ast_selection *s = spreads.items[k];
            if (!gql_map_get(&seen, s->name)) {
                gql_map_put(&seen, s->name, (void *)1);
                gql_vec_push(&names, (void *)s->name);
            }
        }
        gql_vec_free(&spreads);
    }
    spend_fragment_work(c, (long)names.count);
    for (size_t i = 0; i < names.count; i++) {
        const ast_definition *f = get_fragment(c, names.items[i]);
        if (!f)
            continue;
        gql_vec_push(out, (void *)f);
        gql_vec spreads = {0};
        gql_validate_fragment_spreads(c, f->selection_set, &spreads);
        spend_fragment_work(c, (long)spreads.count);
        for (size_t k = 0; k < spreads.count; k++) {
            const ast_selection *s = spreads.items[k];
            if (!gql_map_get(&seen, s->name)) {
                gql_map_put(&seen, s->name, (void *)1);
                gql_vec_push(&names, (void *)s->name);
            }
        }
        gql_vec_free(&spreads);
    }
    gql_vec_free(&names);
    gql_map_free(&seen);
}
