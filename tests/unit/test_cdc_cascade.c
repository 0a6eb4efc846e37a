/* test_cdc_cascade: the cascade planner without a database: which diffs and
 * cascade queries a batch runs, in which order, and which ids each query gets
 * (intent ids always; ids a cascade added only when their diff found a change
 * to a key the edge watches). */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/array_literal.h"
#include "cdc/batch.h"
#include "cdc/cascade.h"
#include "cdc/watch_path.h"

/* Adds intent ids (text, as an intent carries them) of entity to work. */
static void add_intent_ids(batch *work, const char *entity, const char *const *ids, size_t count)
{
    char text[256];
    intent_id places[8];
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        size_t length = strlen(ids[i]);
        memcpy(text + offset, ids[i], length + 1);
        places[i] = (intent_id){(uint32_t) offset, (uint32_t) length};
        offset += length + 1;
    }
    batch_add_ids(work, entity, text, places, count, 100);
}

static void add_cascaded(batch *work, const char *entity, const char *id)
{
    batch_add_cascaded_id(work, entity, id, strlen(id));
}

static void add_changed(cascade_plan *plan, const char *id, char **changed_keys)
{
    cascade_plan_add_changed(plan, id, strlen(id), changed_keys);
}

/* The registry of the blog: a user's posts and comments embed the user's name;
 * a post's comments embed the post's title. */
static const char *const names[] = {"comment", "post", "user"};
static const char *const name_key[] = {"name", NULL};
static const char *const title_key[] = {"title", NULL};
static const cascade_edge blog_edges[] = {
    {"post", "comment", title_key},
    {"user", "comment", name_key},
    {"user", "post", name_key},
};

static size_t edge_named(const char *source, const char *target)
{
    for (size_t e = 0; e < sizeof blog_edges / sizeof blog_edges[0]; e++)
        if (strcmp(blog_edges[e].source, source) == 0 && strcmp(blog_edges[e].target, target) == 0)
            return e;
    ck_abort_msg("no edge %s -> %s", source, target);
    return 0;
}

static char **keys(const char *literal)
{
    return array_literal_parse(literal);
}

START_TEST(test_intent_ids_follow_every_edge_without_a_diff)
{
    batch work = {0};
    add_intent_ids(&work, "user", (const char *const[]){"1", "2"}, 2);
    cascade_plan plan = {0};
    cascade_plan_start(&plan, &work, blog_edges, 3, names, 3);
    batch_entity *source = NULL;
    size_t edge = SIZE_MAX;
    /* The user's intent ids go to both of its edges at once, with no diff. */
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_QUERY);
    ck_assert_str_eq(source->name, "user");
    ck_assert_uint_eq(edge, edge_named("user", "comment"));
    ck_assert(plan.range_diffless);
    ck_assert_uint_eq(plan.range_from, 0);
    ck_assert_uint_eq(plan.range_to, 2);
    ck_assert(cascade_plan_next_edge(&plan, source, &edge));
    ck_assert_uint_eq(edge, edge_named("user", "post"));
    ck_assert(!cascade_plan_next_edge(&plan, source, &edge));
    ck_assert(cascade_plan_nothing_waiting(batch_find_entity(&work, "post")));
    /* No cascade found anything: done, and the user's ids count as expanded. */
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_DONE);
    ck_assert_uint_eq(batch_find_entity(&work, "user")->expanded, 2);
    cascade_plan_free(&plan);
    batch_free(&work);
}
END_TEST

START_TEST(test_cascaded_ids_are_diffed_and_follow_only_watched_changes)
{
    batch work = {0};
    add_intent_ids(&work, "user", (const char *const[]){"1"}, 1);
    cascade_plan plan = {0};
    cascade_plan_start(&plan, &work, blog_edges, 3, names, 3);
    batch_entity *source = NULL;
    size_t edge = SIZE_MAX;
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_QUERY);
    ck_assert(cascade_plan_next_edge(&plan, source, &edge));
    /* The user's query found three posts. */
    add_cascaded(&work, "post", "10");
    add_cascaded(&work, "post", "11");
    add_cascaded(&work, "post", "12");
    ck_assert(!cascade_plan_nothing_waiting(batch_find_entity(&work, "post")));

    /* Posts come after the user in the order; their cascade-added ids are
     * diffed first, and could be diffed ahead of their turn. */
    ck_assert_ptr_nonnull(cascade_plan_diffable(&plan, 1));
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_DIFF);
    ck_assert_str_eq(source->name, "post");
    ck_assert(!plan.range_diffless);
    ck_assert_uint_eq(plan.range_from, 0);
    ck_assert_uint_eq(plan.range_to, 3);
    /* The diff: post 10's title changed, post 11 only its body, post 12 not at all. */
    cascade_plan_clear_changed(&plan);
    add_changed(&plan, "10", keys("{title,updated}"));
    add_changed(&plan, "11", keys("{body}"));
    cascade_plan_set_diffed(&plan, true);
    /* Only the post whose title changed goes to its comments. */
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_QUERY);
    ck_assert_str_eq(source->name, "post");
    ck_assert_uint_eq(edge, edge_named("post", "comment"));
    ck_assert_uint_eq(cascade_plan_edge_ids(&plan, edge), 1);
    ck_assert_str_eq(cascade_plan_changed_id(&plan, plan.edge_ids[0]), "10");
    ck_assert(!cascade_plan_next_edge(&plan, source, &edge));
    /* Comments have no edges: nothing to diff for cascades; done. */
    add_cascaded(&work, "comment", "20");
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_DONE);
    cascade_plan_free(&plan);
    batch_free(&work);
}
END_TEST

START_TEST(test_a_diff_without_watched_changes_follows_no_edge)
{
    batch work = {0};
    add_intent_ids(&work, "user", (const char *const[]){"1"}, 1);
    cascade_plan plan = {0};
    cascade_plan_start(&plan, &work, blog_edges, 3, names, 3);
    batch_entity *source = NULL;
    size_t edge = SIZE_MAX;
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_QUERY);
    ck_assert(cascade_plan_next_edge(&plan, source, &edge));
    add_cascaded(&work, "post", "10");
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_DIFF);
    cascade_plan_clear_changed(&plan);
    add_changed(&plan, "10", keys("{body}"));
    cascade_plan_set_diffed(&plan, true);
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_DONE);
    ck_assert_uint_eq(batch_find_entity(&work, "post")->expanded, 1);
    /* A created or deleted document (no keys) follows every edge. */
    cascade_plan_restart(&plan);
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_QUERY);
    ck_assert(cascade_plan_next_edge(&plan, source, &edge));
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_DIFF);
    cascade_plan_clear_changed(&plan);
    add_changed(&plan, "10", NULL);
    cascade_plan_set_diffed(&plan, true);
    ck_assert_int_eq(cascade_plan_next(&plan, &source, &edge), CASCADE_QUERY);
    ck_assert_uint_eq(edge, edge_named("post", "comment"));
    cascade_plan_free(&plan);
    batch_free(&work);
}
END_TEST

START_TEST(test_ids_added_after_an_entity_turn_get_another_round)
{
    /* b -> a closes a cycle: ids it adds to a come after a's turn, and a
     * second round expands them; a cascade that keeps growing stops after
     * CASCADE_MAX_ROUNDS rounds. */
    static const cascade_edge cycle[] = {{"a", "b", NULL}, {"b", "a", NULL}};
    static const char *const cycle_names[] = {"a", "b"};
    batch work = {0};
    add_intent_ids(&work, "a", (const char *const[]){"1"}, 1);
    cascade_plan plan = {0};
    cascade_plan_start(&plan, &work, cycle, 2, cycle_names, 2);
    batch_entity *source = NULL;
    size_t edge = SIZE_MAX;
    unsigned next_id = 2;
    int queries = 0;
    cascade_action action;
    while ((action = cascade_plan_next(&plan, &source, &edge)) != CASCADE_DONE) {
        if (action == CASCADE_DIFF) {
            /* every new id changed */
            cascade_plan_clear_changed(&plan);
            for (size_t i = plan.range_from; i < plan.range_to; i++)
                add_changed(&plan, batch_entity_id(source, i), NULL);
            cascade_plan_set_diffed(&plan, true);
            continue;
        }
        queries++;
        char found[16];
        snprintf(found, sizeof found, "%u", next_id++);
        add_cascaded(&work, plan.edges[edge].target, found);
        ck_assert_int_lt(queries, 10 * CASCADE_MAX_ROUNDS);
    }
    ck_assert_int_eq(plan.round, CASCADE_MAX_ROUNDS);
    ck_assert_int_gt(queries, CASCADE_MAX_ROUNDS);
    cascade_plan_free(&plan);
    batch_free(&work);
}
END_TEST

START_TEST(test_edge_watches_only_its_keys)
{
    const char *const changed_title[] = {"updated", "title", NULL};
    const char *const changed_body[] = {"body", NULL};
    ck_assert(cascade_edge_watches(&blog_edges[0], changed_title));
    ck_assert(!cascade_edge_watches(&blog_edges[0], changed_body));
    ck_assert(cascade_edge_watches(&blog_edges[0], NULL));
    const cascade_edge every = {"a", "b", NULL};
    ck_assert(cascade_edge_watches(&every, changed_body));
}
END_TEST

START_TEST(test_watch_paths_are_dotted_keys_with_quoted_keys_for_dots)
{
    static const char *const valid[] = {"title", "author.username", "comments.author.username", "\"a.b\"",
                                        "\"a.b\".c", "x.\"say \"\"hi\"\"\"", "\"\"", "a b.c-d"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        ck_assert_msg(watch_path_valid(valid[i]), "%s rejected", valid[i]);
    static const char *const malformed[] = {"", ".", "a.", ".a", "a..b", "a\"b", "\"a", "\"a\"b", "\"a\".",
                                            "a.\"b"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        ck_assert_msg(!watch_path_valid(malformed[i]), "%s accepted", malformed[i]);
    static const struct {
        const char *path, *key;
        bool nested;
    } keys[] = {
        {"title", "title", false},
        {"\"a.b\"", "a.b", false},          /* one top-level key with a dot */
        {"\"say \"\"hi\"\"\"", "say \"hi\"", false},
        {"author.username", "author.username", true},
        {"\"author\".username", "\"author\".username", true},   /* as written */
        {"a..b", "a..b", false},              /* malformed: one key as written, as before 044 */
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        bool nested;
        char *key = watch_path_match_key(keys[i].path, &nested);
        ck_assert_str_eq(key, keys[i].key);
        ck_assert_int_eq(nested, keys[i].nested);
        free(key);
    }
}
END_TEST

START_TEST(test_edge_with_nested_watch_follows_only_that_path)
{
    /* The diff lists changed top-level keys, then the changed nested paths: an
     * edge watching author.username follows the second change and not the first. */
    static const char *const watches[] = {"author.username", "title", NULL};
    const cascade_edge edge = {"comment", "post", watches};
    const char *const post_count_changed[] = {"author", NULL};
    const char *const username_changed[] = {"author", "author.username", NULL};
    const char *const title_changed[] = {"title", NULL};
    ck_assert(!cascade_edge_watches(&edge, post_count_changed));
    ck_assert(cascade_edge_watches(&edge, username_changed));
    ck_assert(cascade_edge_watches(&edge, title_changed));
    ck_assert(cascade_edge_watches(&edge, NULL));   /* created or deleted */
}
END_TEST

START_TEST(test_array_literal_round_trips_keys)
{
    strbuf text = STRBUF_INIT;
    array_literal_open(&text);
    array_literal_add(&text, "plain");
    array_literal_add(&text, "with \"quote\", comma\\");
    array_literal_add(&text, NULL);
    ck_assert_str_eq(array_literal_close(&text), "{\"plain\",\"with \\\"quote\\\", comma\\\\\",NULL}");
    char **parsed = array_literal_parse("{plain,\"with \\\"quote\\\", comma\\\\\"}");
    ck_assert_str_eq(parsed[0], "plain");
    ck_assert_str_eq(parsed[1], "with \"quote\", comma\\");
    ck_assert_ptr_null(parsed[2]);
    array_literal_strings_free(parsed);
    /* Ids of any key: a text id that looks like NULL, holds a comma, braces
     * or a quote stays one element; a length that stops short of the NUL. */
    array_literal_open(&text);
    array_literal_add_text(&text, "NULL", 4);
    array_literal_add_text(&text, "{a,b}", 5);
    array_literal_add_text(&text, "", 0);
    array_literal_add_text(&text, "9007199254740993x", 16);
    ck_assert_str_eq(array_literal_close(&text), "{\"NULL\",\"{a,b}\",\"\",\"9007199254740993\"}");
    parsed = array_literal_parse(strbuf_text(&text));
    ck_assert_str_eq(parsed[0], "NULL");
    ck_assert_str_eq(parsed[1], "{a,b}");
    ck_assert_str_eq(parsed[2], "");
    ck_assert_str_eq(parsed[3], "9007199254740993");
    array_literal_strings_free(parsed);
    array_literal_open(&text);
    ck_assert_str_eq(array_literal_close(&text), "{}");
    uint32_t xids[] = {741, 4294967295u};
    ck_assert_str_eq(array_literal_xids(&text, xids, 2), "{741,4294967295}");
    strbuf_free(&text);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("cdc_cascade");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_intent_ids_follow_every_edge_without_a_diff);
    tcase_add_test(tc, test_cascaded_ids_are_diffed_and_follow_only_watched_changes);
    tcase_add_test(tc, test_a_diff_without_watched_changes_follows_no_edge);
    tcase_add_test(tc, test_ids_added_after_an_entity_turn_get_another_round);
    tcase_add_test(tc, test_edge_watches_only_its_keys);
    tcase_add_test(tc, test_array_literal_round_trips_keys);
    tcase_add_test(tc, test_watch_paths_are_dotted_keys_with_quoted_keys_for_dots);
    tcase_add_test(tc, test_edge_with_nested_watch_follows_only_that_path);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
