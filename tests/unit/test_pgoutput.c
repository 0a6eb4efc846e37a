/* Unit tests for common/pgoutput: pgoutput's binary messages, built here byte by byte,
 * into the records tvsync-cdc reads; truncated and malformed ones are refused with a reason. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/pgoutput.h"

typedef struct bytes {
    unsigned char data[512];
    size_t length;
} bytes;

static void put_uint(bytes *b, uint64_t value, int size)
{
    for (int i = size - 1; i >= 0; i--)
        b->data[b->length++] = (unsigned char) (value >> (8 * i));
}

static void put_string(bytes *b, const char *text)
{
    size_t n = strlen(text) + 1;
    memcpy(b->data + b->length, text, n);
    b->length += n;
}

static void put_text_column(bytes *b, const char *value)
{
    put_uint(b, 't', 1);
    put_uint(b, strlen(value), 4);
    memcpy(b->data + b->length, value, strlen(value));
    b->length += strlen(value);
}

#define LSN_A UINT64_C(0x16B374D848)
#define LSN_B UINT64_C(0x16B374D900)

static bytes begin_message(void)
{
    bytes b = {.length = 0};
    put_uint(&b, 'B', 1);
    put_uint(&b, LSN_A, 8);
    put_uint(&b, 1000000, 8);   /* 2000-01-01 00:00:01 UTC */
    put_uint(&b, 4242, 4);
    return b;
}

static bytes commit_message(void)
{
    bytes b = {.length = 0};
    put_uint(&b, 'C', 1);
    put_uint(&b, 0, 1);
    put_uint(&b, LSN_A, 8);
    put_uint(&b, LSN_B, 8);
    put_uint(&b, 1500000, 8);
    return b;
}

static bytes logical_message(bool transactional, const char *prefix, const char *content)
{
    bytes b = {.length = 0};
    put_uint(&b, 'M', 1);
    put_uint(&b, transactional ? 1 : 0, 1);
    put_uint(&b, LSN_A - 8, 8);
    put_string(&b, prefix);
    put_uint(&b, strlen(content), 4);
    memcpy(b.data + b.length, content, strlen(content));
    b.length += strlen(content);
    return b;
}

static bytes relation_message(uint32_t oid, const char *schema, const char *table)
{
    bytes b = {.length = 0};
    put_uint(&b, 'R', 1);
    put_uint(&b, oid, 4);
    put_string(&b, schema);
    put_string(&b, table);
    put_uint(&b, 'd', 1);
    put_uint(&b, 3, 2);
    static const char *const names[] = {"id", "registry", "note"};
    for (int i = 0; i < 3; i++) {
        put_uint(&b, i == 0 ? 1 : 0, 1);
        put_string(&b, names[i]);
        put_uint(&b, 25, 4);
        put_uint(&b, UINT32_MAX, 4);
    }
    return b;
}

static bytes insert_message(uint32_t oid)
{
    bytes b = {.length = 0};
    put_uint(&b, 'I', 1);
    put_uint(&b, oid, 4);
    put_uint(&b, 'N', 1);
    put_uint(&b, 3, 2);
    put_text_column(&b, "7");
    put_text_column(&b, "{\"entities\": []}");
    put_uint(&b, 'n', 1);
    return b;
}

static bool decode(pgoutput_decoder *decoder, const bytes *b, wal2json_record *out, char *error)
{
    return pgoutput_decode(decoder, (const char *) b->data, b->length, out, error, 256);
}

START_TEST(test_begin_message_commit_become_wal2json_records)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new(NULL);
    wal2json_record record;
    char error[256];
    bytes b = begin_message();
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert_int_eq(record.action, WAL2JSON_BEGIN);
    ck_assert_uint_eq(record.xid, 4242);
    ck_assert_uint_eq(record.lsn, LSN_A);
    ck_assert_uint_eq(record.next_lsn, LSN_INVALID);
    ck_assert(record.has_timestamp);
    ck_assert_str_eq(record.timestamp, "2000-01-01 00:00:01.000000+00");
    ck_assert_int_eq(record.timestamp_unix_us, INT64_C(946684801000000));
    int64_t parsed = 0;
    ck_assert(wal2json_parse_timestamp(record.timestamp, &parsed));
    ck_assert_int_eq(parsed, record.timestamp_unix_us);
    wal2json_record_free(&record);

    b = logical_message(true, "tvsync", "{\"e\":\"post\"}");
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert_int_eq(record.action, WAL2JSON_MESSAGE);
    ck_assert(record.transactional);
    ck_assert_str_eq(record.prefix, "tvsync");
    ck_assert_str_eq(record.content, "{\"e\":\"post\"}");
    ck_assert_uint_eq(record.content_length, strlen("{\"e\":\"post\"}"));
    ck_assert_uint_eq(record.lsn, LSN_A - 8);
    wal2json_record_free(&record);

    b = logical_message(false, "other", "");
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert(!record.transactional);
    ck_assert_str_eq(record.content, "");
    wal2json_record_free(&record);

    b = commit_message();
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert_int_eq(record.action, WAL2JSON_COMMIT);
    ck_assert_uint_eq(record.lsn, LSN_A);
    ck_assert_uint_eq(record.next_lsn, LSN_B);
    ck_assert_str_eq(record.timestamp, "2000-01-01 00:00:01.500000+00");
    wal2json_record_free(&record);
    pgoutput_decoder_free(decoder);
}
END_TEST

START_TEST(test_insert_is_named_by_the_last_relation_message)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new(NULL);
    wal2json_record record;
    char error[256];
    bytes b = insert_message(16400);
    ck_assert(!decode(decoder, &b, &record, error));
    ck_assert_ptr_nonnull(strstr(error, "no Relation message"));

    b = relation_message(16400, "old", "name");
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert_int_eq(record.action, WAL2JSON_OTHER);
    b = relation_message(16400, "tvsync", "registry_log");   /* renamed: the newer description wins */
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    b = relation_message(16401, "", "pg_thing");
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);

    b = insert_message(16400);
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert_int_eq(record.action, WAL2JSON_INSERT);
    ck_assert_str_eq(record.schema, "tvsync");
    ck_assert_str_eq(record.table, "registry_log");
    ck_assert_uint_eq(record.column_count, 3);
    ck_assert_str_eq(wal2json_column_value(&record, "id"), "7");
    ck_assert_str_eq(wal2json_column_value(&record, "registry"), "{\"entities\": []}");
    ck_assert_ptr_null(wal2json_column_value(&record, "note"));
    wal2json_record_free(&record);

    b = insert_message(16401);
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert_str_eq(record.schema, "pg_catalog");
    wal2json_record_free(&record);
    pgoutput_decoder_free(decoder);
}
END_TEST

START_TEST(test_update_delete_truncate_type_origin_are_skipped_when_well_formed)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new(NULL);
    wal2json_record record;
    char error[256];
    bytes update = {.length = 0};
    put_uint(&update, 'U', 1);
    put_uint(&update, 16400, 4);
    put_uint(&update, 'K', 1);
    put_uint(&update, 1, 2);
    put_text_column(&update, "7");
    put_uint(&update, 'N', 1);
    put_uint(&update, 2, 2);
    put_text_column(&update, "7");
    put_uint(&update, 'u', 1);
    bytes update_new_only = {.length = 0};
    put_uint(&update_new_only, 'U', 1);
    put_uint(&update_new_only, 16400, 4);
    put_uint(&update_new_only, 'N', 1);
    put_uint(&update_new_only, 1, 2);
    put_uint(&update_new_only, 'n', 1);
    bytes delete = {.length = 0};
    put_uint(&delete, 'D', 1);
    put_uint(&delete, 16400, 4);
    put_uint(&delete, 'O', 1);
    put_uint(&delete, 1, 2);
    put_text_column(&delete, "7");
    bytes truncate = {.length = 0};
    put_uint(&truncate, 'T', 1);
    put_uint(&truncate, 2, 4);
    put_uint(&truncate, 1, 1);
    put_uint(&truncate, 16400, 4);
    put_uint(&truncate, 16401, 4);
    bytes type = {.length = 0};
    put_uint(&type, 'Y', 1);
    put_uint(&type, 90000, 4);
    put_string(&type, "public");
    put_string(&type, "mood");
    bytes origin = {.length = 0};
    put_uint(&origin, 'O', 1);
    put_uint(&origin, LSN_A, 8);
    put_string(&origin, "elsewhere");
    const bytes *all[] = {&update, &update_new_only, &delete, &truncate, &type, &origin};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ck_assert_msg(decode(decoder, all[i], &record, error), "message %zu: %s", i, error);
        ck_assert_int_eq(record.action, WAL2JSON_OTHER);
        /* cut anywhere, each is refused */
        for (size_t cut = 0; cut < all[i]->length; cut++) {
            bytes shorter = *all[i];
            shorter.length = cut;
            ck_assert_msg(!decode(decoder, &shorter, &record, error), "message %zu cut at %zu accepted", i, cut);
        }
    }
    bytes bad_delete = delete;
    bad_delete.data[5] = 'N';
    ck_assert(!decode(decoder, &bad_delete, &record, error));
    ck_assert_ptr_nonnull(strstr(error, "K or O"));
    bytes bad_kind = update_new_only;
    bad_kind.data[bad_kind.length - 1] = 'x';
    ck_assert(!decode(decoder, &bad_kind, &record, error));
    ck_assert_ptr_nonnull(strstr(error, "kind"));
    bytes huge_truncate = truncate;
    huge_truncate.data[1] = 0xff;   /* 4 billion relation ids announced, 2 present */
    ck_assert(!decode(decoder, &huge_truncate, &record, error));
    ck_assert_ptr_nonnull(strstr(error, "truncated"));
    pgoutput_decoder_free(decoder);
}
END_TEST

START_TEST(test_truncated_or_malformed_messages_are_refused_with_a_reason)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new(NULL);
    wal2json_record record;
    char error[256];
    bytes relation = relation_message(16400, "tvsync", "registry_log");
    bytes valid[] = {begin_message(), commit_message(), logical_message(true, "tvsync", "{}"),
                     relation, insert_message(16400)};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        for (size_t cut = 0; cut < valid[i].length; cut++) {
            bytes shorter = valid[i];
            shorter.length = cut;
            error[0] = '\0';
            ck_assert_msg(!decode(decoder, &shorter, &record, error), "message %zu cut at %zu accepted", i, cut);
            ck_assert_msg(strstr(error, "truncated") || strstr(error, "NUL"), "message %zu cut at %zu: %s", i, cut,
                          error);
            ck_assert_ptr_null(record.content);
            ck_assert_ptr_null(record.columns);
        }
        bytes longer = valid[i];
        longer.data[longer.length++] = 0;
        ck_assert_msg(!decode(decoder, &longer, &record, error), "message %zu with a byte more accepted", i);
        ck_assert_ptr_nonnull(strstr(error, "after"));
    }
    bytes unknown = {.data = {'Z', 0}, .length = 2};
    ck_assert(!decode(decoder, &unknown, &record, error));
    ck_assert_str_eq(error, "unknown pgoutput message type 'Z'");
    ck_assert(!pgoutput_decode(decoder, NULL, 0, &record, error, sizeof error));

    /* a message longer than its bytes */
    bytes liar = logical_message(true, "tvsync", "{}");
    liar.data[liar.length - 3] = 0x7f;
    ck_assert(!decode(decoder, &liar, &record, error));
    ck_assert_ptr_nonnull(strstr(error, "truncated"));

    /* an insert whose column count is not its relation's */
    bytes short_insert = {.length = 0};
    put_uint(&short_insert, 'I', 1);
    put_uint(&short_insert, 16400, 4);
    put_uint(&short_insert, 'N', 1);
    put_uint(&short_insert, 1, 2);
    put_text_column(&short_insert, "7");
    ck_assert(!decode(decoder, &short_insert, &record, error));
    ck_assert_ptr_nonnull(strstr(error, "column count"));
    pgoutput_decoder_free(decoder);
}
END_TEST

START_TEST(test_transactions_of_the_skipped_origin_carry_no_messages_or_rows)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new("tvsync");
    wal2json_record record;
    char error[256];
    bytes relation = relation_message(16400, "tvsync", "registry_log");
    ck_assert(decode(decoder, &relation, &record, error));
    bytes origin = {.length = 0};
    put_uint(&origin, 'O', 1);
    put_uint(&origin, LSN_A, 8);
    put_string(&origin, "tvsync");
    bytes begin = begin_message(), message = logical_message(true, "tvsync", "{}"), insert = insert_message(16400),
          commit = commit_message();

    ck_assert(decode(decoder, &begin, &record, error));
    ck_assert(decode(decoder, &origin, &record, error));
    ck_assert(decode(decoder, &message, &record, error));
    ck_assert_int_eq(record.action, WAL2JSON_OTHER);
    ck_assert(decode(decoder, &insert, &record, error));
    ck_assert_int_eq(record.action, WAL2JSON_OTHER);
    ck_assert(decode(decoder, &commit, &record, error));
    ck_assert_int_eq(record.action, WAL2JSON_COMMIT);

    /* the next transaction has no origin: its messages count */
    ck_assert(decode(decoder, &begin, &record, error));
    ck_assert(decode(decoder, &message, &record, error));
    ck_assert_int_eq(record.action, WAL2JSON_MESSAGE);
    wal2json_record_free(&record);
    pgoutput_decoder_free(decoder);
}
END_TEST

START_TEST(test_publication_name_is_the_slot_name_with_pub_within_63_bytes)
{
    char *name = pgoutput_publication_name("tvsync");
    ck_assert_str_eq(name, "tvsync_pub");
    free(name);
    char slot[64];
    memset(slot, 'a', 63);
    slot[63] = '\0';
    name = pgoutput_publication_name(slot);
    ck_assert_uint_eq(strlen(name), 63);
    ck_assert_int_eq(strncmp(name, slot, 63), 0);
    free(name);
    memset(slot, 'b', 60);
    slot[60] = '\0';
    name = pgoutput_publication_name(slot);
    ck_assert_uint_eq(strlen(name), 63);
    ck_assert_str_eq(name + 60, "_pu");
    free(name);
}
END_TEST

START_TEST(test_commit_times_far_from_now_still_decode)
{
    pgoutput_decoder *decoder = pgoutput_decoder_new(NULL);
    wal2json_record record;
    char error[256];
    bytes b = {.length = 0};
    put_uint(&b, 'B', 1);
    put_uint(&b, LSN_A, 8);
    put_uint(&b, (uint64_t) INT64_C(-1), 8);   /* 1999-12-31 23:59:59.999999 */
    put_uint(&b, 1, 4);
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert_str_eq(record.timestamp, "1999-12-31 23:59:59.999999+00");
    ck_assert_int_eq(record.timestamp_unix_us, INT64_C(946684799999999));
    b.length = 9;
    put_uint(&b, (uint64_t) INT64_C(0x7fffffffffffffff), 8);   /* beyond year 9999: no literal */
    put_uint(&b, 1, 4);
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    ck_assert(!record.has_timestamp);
    b.length = 9;
    put_uint(&b, (uint64_t) INT64_C(846890575507741), 8);   /* 2026-11-01 ... */
    put_uint(&b, 1, 4);
    ck_assert_msg(decode(decoder, &b, &record, error), "%s", error);
    int64_t parsed = 0;
    ck_assert(wal2json_parse_timestamp(record.timestamp, &parsed));
    ck_assert_int_eq(parsed, record.timestamp_unix_us);
    ck_assert_int_eq(parsed, INT64_C(846890575507741) + INT64_C(946684800000000));
    pgoutput_decoder_free(decoder);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("pgoutput");
    TCase *tc = tcase_create("pgoutput");
    tcase_add_test(tc, test_begin_message_commit_become_wal2json_records);
    tcase_add_test(tc, test_insert_is_named_by_the_last_relation_message);
    tcase_add_test(tc, test_update_delete_truncate_type_origin_are_skipped_when_well_formed);
    tcase_add_test(tc, test_truncated_or_malformed_messages_are_refused_with_a_reason);
    tcase_add_test(tc, test_transactions_of_the_skipped_origin_carry_no_messages_or_rows);
    tcase_add_test(tc, test_publication_name_is_the_slot_name_with_pub_within_63_bytes);
    tcase_add_test(tc, test_commit_times_far_from_now_still_decode);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
