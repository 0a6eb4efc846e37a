/* test_cdc_batch: batching and coalescing of (entity, id) intents, the
 * bookkeeping of partial and complete source transactions, and cascade order. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/batch.h"
#include "cdc/cascade.h"

/* Ids as an intent carries them: one text, and each id's place in it. */
typedef struct id_list {
    char *text;
    intent_id *ids;
    size_t count;
} id_list;

static id_list ids_of_texts(const char *const *texts, size_t count)
{
    id_list list = {NULL, calloc(count + 1, sizeof(intent_id)), count};
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen(texts[i]) + 1;
    list.text = malloc(size);
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        size_t length = strlen(texts[i]);
        memcpy(list.text + offset, texts[i], length + 1);
        list.ids[i] = (intent_id){(uint32_t) offset, (uint32_t) length};
        offset += length + 1;
    }
    return list;
}

/* Numbers as bigint keys: "0", "1", ... */
static id_list ids_of(const unsigned *values, size_t count)
{
    char **texts = malloc((count + 1) * sizeof *texts);
    for (size_t i = 0; i < count; i++) {
        texts[i] = malloc(16);
        snprintf(texts[i], 16, "%u", values[i]);
    }
    id_list list = ids_of_texts((const char *const *) texts, count);
    for (size_t i = 0; i < count; i++)
        free(texts[i]);
    free(texts);
    return list;
}

static void ids_free(id_list *list)
{
    free(list->text);
    free(list->ids);
}

START_TEST(test_duplicate_entity_ids_are_coalesced)
{
    batch b = {0};
    id_list ids = ids_of((const unsigned[]){1, 2, 1, 2, 3}, 5);
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids.text, ids.ids, 5, 100), 5);
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids.text, ids.ids, 2, 100), 2);
    /* The same id under another entity is another pair. */
    ck_assert_uint_eq(batch_add_ids(&b, "user", ids.text, ids.ids, 1, 100), 1);
    ck_assert_uint_eq(b.id_count, 4);
    batch_entity *post = batch_find_entity(&b, "post");
    ck_assert_ptr_nonnull(post);
    ck_assert_uint_eq(post->id_count, 3);
    /* Every intent counts, even a coalesced one. */
    ck_assert_int_eq(post->open_intents, 7);
    ck_assert_int_eq(post->intents, 0);
    batch_commit_transaction(&b, 0x100, "2026-11-24 01:00:00+00", 1, true);
    ck_assert_int_eq(post->intents, 7);
    ck_assert_int_eq(post->open_intents, 0);
    ck_assert(b.has_progress);
    ck_assert_uint_eq(b.progress_lsn, 0x100);
    ck_assert_uint_eq(b.transactions, 1);
    ids_free(&ids);
    batch_free(&b);
}
END_TEST

START_TEST(test_batch_stops_at_max_ids_and_keeps_the_rest)
{
    batch b = {0};
    id_list ids = ids_of((const unsigned[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10);
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids.text, ids.ids, 10, 4), 4);
    ck_assert_uint_eq(b.id_count, 4);
    /* Full: new ids wait, but ids already present still coalesce. */
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids.text, ids.ids + 4, 6, 4), 0);
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids.text, ids.ids, 2, 4), 2);
    ck_assert_uint_eq(b.id_count, 4);
    ids_free(&ids);
    batch_free(&b);
}
END_TEST

START_TEST(test_many_ids_coalesce_through_index_growth)
{
    batch b = {0};
    enum { COUNT = 50000 };
    unsigned *values = malloc(COUNT * sizeof *values);
    for (unsigned i = 0; i < COUNT; i++)
        values[i] = i % (COUNT / 2);
    id_list ids = ids_of(values, COUNT);
    ck_assert_uint_eq(batch_add_ids(&b, "comment", ids.text, ids.ids, COUNT, 1000000), COUNT);
    ck_assert_uint_eq(b.id_count, COUNT / 2);
    /* Each id's text survived the growth of the entity's text buffer. */
    batch_entity *comment = batch_find_entity(&b, "comment");
    for (unsigned i = 0; i < COUNT / 2; i++)
        ck_assert_str_eq(batch_entity_id(comment, i), ids.text + ids.ids[i].offset);
    free(values);
    ids_free(&ids);
    batch_free(&b);
}
END_TEST

START_TEST(test_position_finds_each_id_and_not_others)
{
    batch b = {0};
    enum { COUNT = 3000 };
    unsigned *values = malloc(COUNT * sizeof *values);
    for (unsigned i = 0; i < COUNT; i++)
        values[i] = 7 * i;
    id_list ids = ids_of(values, COUNT);
    batch_add_ids(&b, "post", ids.text, ids.ids, COUNT, 1000000);
    batch_entity *post = batch_find_entity(&b, "post");
    ck_assert_ptr_nonnull(post);
    for (unsigned i = 0; i < COUNT; i++)
        ck_assert_uint_eq(batch_entity_position(post, ids.text + ids.ids[i].offset, ids.ids[i].length), i);
    ck_assert_uint_eq(batch_entity_position(post, "8", 1), SIZE_MAX);
    /* A prefix of an id, or an id and more, is another id. */
    ck_assert_uint_eq(batch_entity_position(post, "14", 1), SIZE_MAX);
    ck_assert_uint_eq(batch_entity_position(post, "140", 3), 20);
    ck_assert_uint_eq(batch_entity_position(post, "1400", 4), 200);
    ck_assert_uint_eq(batch_entity_position(post, "14000", 5), 2000);
    ck_assert_uint_eq(batch_entity_position(post, "14001", 5), SIZE_MAX);
    free(values);
    ids_free(&ids);
    batch_free(&b);
}
END_TEST

START_TEST(test_split_transaction_counts_only_with_its_commit)
{
    /* A source transaction larger than the batch: the first part is applied
     * without progress and without counts; the counts go with the commit. */
    batch filling = {0}, applying = {0};
    id_list ids = ids_of((const unsigned[]){0, 1, 2, 3, 4, 5}, 6);
    batch_add_ids(&filling, "post", ids.text, ids.ids, 1, 3);
    batch_commit_transaction(&filling, 0x10, "t1", 1, true);       /* T1 complete */
    ck_assert_uint_eq(batch_add_ids(&filling, "post", ids.text, ids.ids + 1, 5, 3), 2); /* T2 open, full */
    batch_add_dead_letter(&filling, 0x18, "junk", 4, "content is not a JSON object");

    /* Swap: apply what is complete, the open transaction goes on in the other batch. */
    batch tmp = filling;
    filling = applying;
    applying = tmp;
    batch_move_open(&applying, &filling);
    ck_assert_int_eq(batch_find_entity(&applying, "post")->intents, 1);
    ck_assert_int_eq(batch_find_entity(&applying, "post")->open_intents, 0);
    ck_assert_uint_eq(applying.note_count, 0);
    ck_assert(applying.has_progress);
    ck_assert_uint_eq(applying.progress_lsn, 0x10);
    ck_assert_uint_eq(applying.id_count, 3);   /* T2's first ids ride along (harmless) */
    batch_reset(&applying);
    ck_assert(!batch_has_work(&applying));

    ck_assert_int_eq(batch_find_entity(&filling, "post")->open_intents, 2);
    ck_assert_uint_eq(filling.note_count, 1);
    ck_assert(filling.notes[0].open);
    ck_assert_uint_eq(batch_add_ids(&filling, "post", ids.text, ids.ids + 3, 3, 3), 3);
    batch_commit_transaction(&filling, 0x20, "t2", 2, true);
    ck_assert_int_eq(batch_find_entity(&filling, "post")->intents, 5);
    ck_assert(!filling.notes[0].open);
    ck_assert_uint_eq(filling.progress_lsn, 0x20);
    ids_free(&ids);
    batch_free(&filling);
    batch_free(&applying);
}
END_TEST

START_TEST(test_reset_keeps_open_transaction_counts)
{
    batch b = {0};
    id_list id = ids_of((const unsigned[]){9}, 1);
    batch_add_ids(&b, "post", id.text, id.ids, 1, 10);
    batch_commit_transaction(&b, 0x40, "t", 5, true);
    batch_add_xid(&b, 741);
    batch_add_xid(&b, 0);   /* no xid (wal2json without include-xids): nothing to wait for */
    ck_assert_uint_eq(b.xid_count, 1);
    id_list other = ids_of((const unsigned[]){10}, 1);
    batch_add_ids(&b, "user", other.text, other.ids, 1, 10);
    batch_reset(&b);
    ck_assert_uint_eq(b.id_count, 0);
    ck_assert_uint_eq(b.xid_count, 0);
    ck_assert(!b.has_progress);
    ck_assert_ptr_null(batch_find_entity(&b, "post"));
    ck_assert_int_eq(batch_find_entity(&b, "user")->open_intents, 1);
    /* The id index was cleared: the id can be added again. */
    ck_assert_uint_eq(batch_add_ids(&b, "user", other.text, other.ids, 1, 10), 1);
    ck_assert_uint_eq(b.id_count, 1);
    ck_assert_str_eq(batch_entity_id(batch_find_entity(&b, "user"), 0), "10");
    ids_free(&id);
    ids_free(&other);
    batch_free(&b);
}
END_TEST

START_TEST(test_text_ids_coalesce_byte_for_byte)
{
    /* Text keys can hold anything an array literal or JSON would quote; a
     * bigint above 2^53 is its digits. Equal bytes are one id, else two. */
    static const char *const texts[] = {
        "a,b", "a\"b", "a\\b", "{x}", " spaced ", "\xc3\xa9t\xc3\xa9", "", "9007199254740993", "9007199254740992",
        "a,b", "", "A,B",
    };
    batch b = {0};
    id_list ids = ids_of_texts(texts, 12);
    ck_assert_uint_eq(batch_add_ids(&b, "note", ids.text, ids.ids, 12, 100), 12);
    batch_entity *note = batch_find_entity(&b, "note");
    ck_assert_uint_eq(note->id_count, 10);
    for (size_t i = 0; i < 9; i++) {
        ck_assert_str_eq(batch_entity_id(note, i), texts[i]);
        ck_assert_uint_eq(batch_entity_position(note, texts[i], strlen(texts[i])), i);
    }
    ck_assert_uint_eq(batch_entity_position(note, "A,B", 3), 9);
    batch_add_cascaded_id(&b, "note", "9007199254740993", 16);
    batch_add_cascaded_id(&b, "note", "9007199254740994", 16);
    ck_assert_uint_eq(note->id_count, 11);
    ck_assert_str_eq(batch_entity_id(note, 10), "9007199254740994");
    ids_free(&ids);
    batch_free(&b);
}
END_TEST

static size_t position(const char **order, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(order[i], name) == 0)
            return i;
    return count;
}

START_TEST(test_cascade_user_reaches_posts_and_comments_in_order)
{
    const cascade_edge edges[] = {
        {"user", "post"}, {"user", "comment"}, {"post", "comment"},
    };
    const char *start[] = {"comment", "user"};
    const char *order[5];
    size_t count = cascade_order(start, 2, edges, 3, order);
    ck_assert_uint_eq(count, 3);
    ck_assert_uint_lt(position(order, count, "user"), position(order, count, "post"));
    ck_assert_uint_lt(position(order, count, "post"), position(order, count, "comment"));
}
END_TEST

START_TEST(test_cascade_chain_is_transitive_from_a_late_start)
{
    const cascade_edge edges[] = {{"b", "c"}, {"a", "b"}};
    const char *start[] = {"b", "a"};
    const char *order[4];
    size_t count = cascade_order(start, 2, edges, 2, order);
    ck_assert_uint_eq(count, 3);
    ck_assert_str_eq(order[0], "a");
    ck_assert_str_eq(order[1], "b");
    ck_assert_str_eq(order[2], "c");
}
END_TEST

START_TEST(test_cascade_unreachable_entities_are_left_out)
{
    const cascade_edge edges[] = {{"user", "post"}, {"tag", "post"}};
    const char *start[] = {"post"};
    const char *order[3];
    ck_assert_uint_eq(cascade_order(start, 1, edges, 2, order), 1);
    ck_assert_str_eq(order[0], "post");
}
END_TEST

START_TEST(test_cascade_cycle_expands_each_entity_once)
{
    const cascade_edge edges[] = {{"a", "b"}, {"b", "a"}, {"b", "c"}, {"c", "c"}};
    const char *start[] = {"a"};
    const char *order[5];
    size_t count = cascade_order(start, 1, edges, 4, order);
    ck_assert_uint_eq(count, 3);
    ck_assert_str_eq(order[0], "a");
    ck_assert_str_eq(order[1], "b");
    ck_assert_str_eq(order[2], "c");
}
END_TEST

static Suite *batch_suite(void)
{
    Suite *suite = suite_create("cdc_batch");
    TCase *batching = tcase_create("batch");
    tcase_add_test(batching, test_duplicate_entity_ids_are_coalesced);
    tcase_add_test(batching, test_batch_stops_at_max_ids_and_keeps_the_rest);
    tcase_add_test(batching, test_many_ids_coalesce_through_index_growth);
    tcase_add_test(batching, test_position_finds_each_id_and_not_others);
    tcase_add_test(batching, test_text_ids_coalesce_byte_for_byte);
    tcase_add_test(batching, test_split_transaction_counts_only_with_its_commit);
    tcase_add_test(batching, test_reset_keeps_open_transaction_counts);
    suite_add_tcase(suite, batching);
    TCase *cascades = tcase_create("cascade");
    tcase_add_test(cascades, test_cascade_user_reaches_posts_and_comments_in_order);
    tcase_add_test(cascades, test_cascade_chain_is_transitive_from_a_late_start);
    tcase_add_test(cascades, test_cascade_unreachable_entities_are_left_out);
    tcase_add_test(cascades, test_cascade_cycle_expands_each_entity_once);
    suite_add_tcase(suite, cascades);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(batch_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
