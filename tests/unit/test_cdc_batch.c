/* test_cdc_batch: batching and coalescing of (entity, id) intents, the
 * bookkeeping of partial and complete source transactions, and cascade order. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/batch.h"
#include "cdc/cascade.h"

static intent_uuid make_uuid(unsigned value)
{
    intent_uuid uuid;
    memset(&uuid, 0, sizeof uuid);
    uuid.bytes[12] = (unsigned char) (value >> 24);
    uuid.bytes[13] = (unsigned char) (value >> 16);
    uuid.bytes[14] = (unsigned char) (value >> 8);
    uuid.bytes[15] = (unsigned char) value;
    return uuid;
}

START_TEST(test_duplicate_entity_ids_are_coalesced)
{
    batch b = {0};
    intent_uuid ids[] = {make_uuid(1), make_uuid(2), make_uuid(1), make_uuid(2), make_uuid(3)};
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids, 5, 100), 5);
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids, 2, 100), 2);
    /* The same uuid under another entity is another pair. */
    ck_assert_uint_eq(batch_add_ids(&b, "user", ids, 1, 100), 1);
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
    batch_free(&b);
}
END_TEST

START_TEST(test_batch_stops_at_max_ids_and_keeps_the_rest)
{
    batch b = {0};
    intent_uuid ids[10];
    for (unsigned i = 0; i < 10; i++)
        ids[i] = make_uuid(i);
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids, 10, 4), 4);
    ck_assert_uint_eq(b.id_count, 4);
    /* Full: new ids wait, but ids already present still coalesce. */
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids + 4, 6, 4), 0);
    ck_assert_uint_eq(batch_add_ids(&b, "post", ids, 2, 4), 2);
    ck_assert_uint_eq(b.id_count, 4);
    batch_free(&b);
}
END_TEST

START_TEST(test_many_ids_coalesce_through_index_growth)
{
    batch b = {0};
    enum { COUNT = 50000 };
    intent_uuid *ids = malloc(COUNT * sizeof *ids);
    for (unsigned i = 0; i < COUNT; i++)
        ids[i] = make_uuid(i % (COUNT / 2));
    ck_assert_uint_eq(batch_add_ids(&b, "comment", ids, COUNT, 1000000), COUNT);
    ck_assert_uint_eq(b.id_count, COUNT / 2);
    free(ids);
    batch_free(&b);
}
END_TEST

START_TEST(test_position_finds_each_id_and_not_others)
{
    batch b = {0};
    enum { COUNT = 3000 };
    intent_uuid *ids = malloc(COUNT * sizeof *ids);
    for (unsigned i = 0; i < COUNT; i++)
        ids[i] = make_uuid(7 * i);
    batch_add_ids(&b, "post", ids, COUNT, 1000000);
    batch_entity *post = batch_find_entity(&b, "post");
    ck_assert_ptr_nonnull(post);
    for (unsigned i = 0; i < COUNT; i++)
        ck_assert_uint_eq(batch_entity_position(post, &ids[i]), i);
    intent_uuid missing = make_uuid(7 * COUNT + 1);
    ck_assert_uint_eq(batch_entity_position(post, &missing), SIZE_MAX);
    free(ids);
    batch_free(&b);
}
END_TEST

START_TEST(test_split_transaction_counts_only_with_its_commit)
{
    /* A source transaction larger than the batch: the first part is applied
     * without progress and without counts; the counts go with the commit. */
    batch filling = {0}, applying = {0};
    intent_uuid ids[6];
    for (unsigned i = 0; i < 6; i++)
        ids[i] = make_uuid(i);
    batch_add_ids(&filling, "post", ids, 1, 3);
    batch_commit_transaction(&filling, 0x10, "t1", 1, true);       /* T1 complete */
    ck_assert_uint_eq(batch_add_ids(&filling, "post", ids + 1, 5, 3), 2); /* T2 open, full */
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
    ck_assert_uint_eq(batch_add_ids(&filling, "post", ids + 3, 3, 3), 3);
    batch_commit_transaction(&filling, 0x20, "t2", 2, true);
    ck_assert_int_eq(batch_find_entity(&filling, "post")->intents, 5);
    ck_assert(!filling.notes[0].open);
    ck_assert_uint_eq(filling.progress_lsn, 0x20);
    batch_free(&filling);
    batch_free(&applying);
}
END_TEST

START_TEST(test_reset_keeps_open_transaction_counts)
{
    batch b = {0};
    intent_uuid id = make_uuid(9);
    batch_add_ids(&b, "post", &id, 1, 10);
    batch_commit_transaction(&b, 0x40, "t", 5, true);
    batch_add_xid(&b, 741);
    batch_add_xid(&b, 0);   /* no xid (wal2json without include-xids): nothing to wait for */
    ck_assert_uint_eq(b.xid_count, 1);
    intent_uuid other = make_uuid(10);
    batch_add_ids(&b, "user", &other, 1, 10);
    batch_reset(&b);
    ck_assert_uint_eq(b.id_count, 0);
    ck_assert_uint_eq(b.xid_count, 0);
    ck_assert(!b.has_progress);
    ck_assert_ptr_null(batch_find_entity(&b, "post"));
    ck_assert_int_eq(batch_find_entity(&b, "user")->open_intents, 1);
    /* The id index was cleared: the id can be added again. */
    ck_assert_uint_eq(batch_add_ids(&b, "user", &other, 1, 10), 1);
    ck_assert_uint_eq(b.id_count, 1);
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
