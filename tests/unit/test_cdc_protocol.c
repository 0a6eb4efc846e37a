/* test_cdc_protocol: the replication CopyData framing ('w', 'k', 'r'), wal2json
 * format-version 2 objects (B, M, C, I, malformed) and intent content parsing. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/intent.h"
#include "cdc/stream_protocol.h"
#include "common/wal2json.h"

static void put64(unsigned char *p, uint64_t value)
{
    for (int i = 7; i >= 0; i--, value >>= 8)
        p[i] = (unsigned char) (value & 0xff);
}

START_TEST(test_xlog_data_header_and_payload_are_decoded)
{
    unsigned char buffer[STREAM_XLOG_DATA_HEADER_SIZE + 4];
    buffer[0] = 'w';
    put64(buffer + 1, UINT64_C(0x16B374D848));
    put64(buffer + 9, UINT64_C(0x16B374D900));
    put64(buffer + 17, UINT64_C(817000000000000));
    memcpy(buffer + 25, "{}ab", 4);
    stream_message message;
    ck_assert(stream_message_parse((const char *) buffer, sizeof buffer, &message));
    ck_assert_int_eq(message.kind, STREAM_MESSAGE_XLOG_DATA);
    ck_assert_uint_eq(message.data_start, UINT64_C(0x16B374D848));
    ck_assert_uint_eq(message.wal_end, UINT64_C(0x16B374D900));
    ck_assert_int_eq(message.send_time, INT64_C(817000000000000));
    ck_assert_uint_eq(message.payload_length, 4);
    ck_assert(memcmp(message.payload, "{}ab", 4) == 0);
}
END_TEST

START_TEST(test_keepalive_reply_requested_is_decoded)
{
    unsigned char buffer[STREAM_KEEPALIVE_SIZE];
    buffer[0] = 'k';
    put64(buffer + 1, UINT64_C(0xFFFFFFFF00000001));
    put64(buffer + 9, 42);
    buffer[17] = 1;
    stream_message message;
    ck_assert(stream_message_parse((const char *) buffer, sizeof buffer, &message));
    ck_assert_int_eq(message.kind, STREAM_MESSAGE_KEEPALIVE);
    ck_assert_uint_eq(message.wal_end, UINT64_C(0xFFFFFFFF00000001));
    ck_assert_int_eq(message.send_time, 42);
    ck_assert(message.reply_requested);
    buffer[17] = 0;
    ck_assert(stream_message_parse((const char *) buffer, sizeof buffer, &message));
    ck_assert(!message.reply_requested);
}
END_TEST

START_TEST(test_truncated_or_unknown_messages_are_rejected)
{
    unsigned char buffer[STREAM_XLOG_DATA_HEADER_SIZE] = {'w'};
    stream_message message;
    ck_assert(!stream_message_parse((const char *) buffer, 24, &message));
    buffer[0] = 'k';
    ck_assert(!stream_message_parse((const char *) buffer, 17, &message));
    buffer[0] = 'x';
    ck_assert(!stream_message_parse((const char *) buffer, sizeof buffer, &message));
    ck_assert(!stream_message_parse((const char *) buffer, 0, &message));
}
END_TEST

START_TEST(test_status_update_is_34_big_endian_bytes)
{
    unsigned char out[STREAM_STATUS_UPDATE_SIZE];
    stream_status_update_build(UINT64_C(0x0102030405060708), 0x10, 0x20, -2, true, out);
    ck_assert_int_eq(out[0], 'r');
    const unsigned char write_expected[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert(memcmp(out + 1, write_expected, 8) == 0);
    ck_assert_int_eq(out[16], 0x10);
    ck_assert_int_eq(out[24], 0x20);
    for (int i = 25; i < 33; i++)
        ck_assert_int_eq(out[i], i == 32 ? 0xfe : 0xff);
    ck_assert_int_eq(out[33], 1);
}
END_TEST

START_TEST(test_postgres_epoch_conversion)
{
    ck_assert_int_eq(stream_time_from_unix_us(INT64_C(946684800000000)), 0);
    ck_assert_int_eq(stream_time_to_unix_us(1), INT64_C(946684800000001));
    int64_t now = stream_now();
    /* After 2026-01-01 and before 2100-01-01 in PostgreSQL µs. */
    ck_assert(now > INT64_C(820454400000000) && now < INT64_C(3155760000000000));
}
END_TEST

START_TEST(test_wal2json_begin_object)
{
    const char *text = "{\"action\":\"B\",\"xid\":727,\"timestamp\":\"2026-11-24 01:15:35.507741+00\","
                       "\"lsn\":\"0/15282A8\",\"nextlsn\":\"0/15282D8\"}";
    wal2json_record record;
    char error[128];
    ck_assert(wal2json_parse(text, strlen(text), &record, error, sizeof error));
    ck_assert_int_eq(record.action, WAL2JSON_BEGIN);
    ck_assert_uint_eq(record.xid, 727);
    ck_assert_uint_eq(record.lsn, 0x15282A8);
    ck_assert_uint_eq(record.next_lsn, 0x15282D8);
    ck_assert(record.has_timestamp);
    ck_assert_str_eq(record.timestamp, "2026-11-24 01:15:35.507741+00");
    /* date -u -d '2026-11-24 01:15:35' +%s = 1795482935 */
    ck_assert_int_eq(record.timestamp_unix_us, INT64_C(1795482935507741));
    wal2json_record_free(&record);
}
END_TEST

START_TEST(test_wal2json_message_object)
{
    const char *text = "{\"action\":\"M\",\"timestamp\":\"2026-11-24 01:15:35.507741+00\","
                       "\"lsn\":\"0/1528228\",\"transactional\":true,\"prefix\":\"tvsync\","
                       "\"content\":\"{\\\"entity\\\":\\\"post\\\",\\\"ids\\\":[]}\"}";
    wal2json_record record;
    char error[128];
    ck_assert(wal2json_parse(text, strlen(text), &record, error, sizeof error));
    ck_assert_int_eq(record.action, WAL2JSON_MESSAGE);
    ck_assert(record.transactional);
    ck_assert_str_eq(record.prefix, "tvsync");
    ck_assert_str_eq(record.content, "{\"entity\":\"post\",\"ids\":[]}");
    ck_assert_uint_eq(record.content_length, strlen(record.content));
    ck_assert_uint_eq(record.lsn, 0x1528228);
    wal2json_record_free(&record);

    const char *non_transactional = "{\"action\":\"M\",\"timestamp\":null,\"lsn\":\"0/15282A8\","
                                    "\"transactional\":false,\"prefix\":\"tvsync\",\"content\":\"nt\"}";
    ck_assert(wal2json_parse(non_transactional, strlen(non_transactional), &record, error, sizeof error));
    ck_assert(!record.transactional);
    ck_assert(!record.has_timestamp);
    wal2json_record_free(&record);
}
END_TEST

START_TEST(test_wal2json_insert_object_gives_its_columns_as_text)
{
    /* as wal2json prints an insert into tvsync.registry_log (a json column is a string) */
    const char *text = "{\"action\":\"I\",\"xid\":744,\"lsn\":\"0/19DC290\",\"schema\":\"tvsync\","
                       "\"table\":\"registry_log\",\"columns\":[{\"name\":\"version\",\"type\":\"bigint\",\"value\":2},"
                       "{\"name\":\"registry\",\"type\":\"json\",\"value\":\"{\\\"entities\\\" : []}\"},"
                       "{\"name\":\"note\",\"type\":\"text\",\"value\":null}]}";
    wal2json_record record;
    char error[128];
    ck_assert_msg(wal2json_parse(text, strlen(text), &record, error, sizeof error), "%s", error);
    ck_assert_int_eq(record.action, WAL2JSON_INSERT);
    ck_assert_uint_eq(record.xid, 744);
    ck_assert_uint_eq(record.lsn, 0x19DC290);
    ck_assert_str_eq(record.schema, "tvsync");
    ck_assert_str_eq(record.table, "registry_log");
    ck_assert_str_eq(wal2json_column_value(&record, "registry"), "{\"entities\" : []}");
    ck_assert_str_eq(wal2json_column_value(&record, "version"), "2");
    ck_assert_ptr_null(wal2json_column_value(&record, "note"));
    ck_assert_ptr_null(wal2json_column_value(&record, "absent"));
    wal2json_record_free(&record);
    wal2json_record_free(&record);

    const char *no_columns = "{\"action\":\"I\",\"schema\":\"tvsync\",\"table\":\"registry_log\"}";
    ck_assert(!wal2json_parse(no_columns, strlen(no_columns), &record, error, sizeof error));
    ck_assert_str_eq(error, "an insert needs \"schema\", \"table\" and \"columns\"");
    const char *nameless = "{\"action\":\"I\",\"schema\":\"s\",\"table\":\"t\",\"columns\":[{\"value\":1}]}";
    ck_assert(!wal2json_parse(nameless, strlen(nameless), &record, error, sizeof error));
    ck_assert_str_eq(error, "column 0 of an insert has no \"name\" or \"value\"");
}
END_TEST

START_TEST(test_wal2json_commit_object)
{
    const char *text = "{\"action\":\"C\",\"timestamp\":\"2026-11-24 01:15:35.5+05:30\","
                       "\"lsn\":\"0/15282A8\",\"nextlsn\":\"1/15282D8\"}";
    wal2json_record record;
    char error[128];
    ck_assert(wal2json_parse(text, strlen(text), &record, error, sizeof error));
    ck_assert_int_eq(record.action, WAL2JSON_COMMIT);
    ck_assert_uint_eq(record.next_lsn, (UINT64_C(1) << 32) + 0x15282D8);
    ck_assert_int_eq(record.timestamp_unix_us, INT64_C(1795482935500000) - INT64_C(19800000000));
    wal2json_record_free(&record);
}
END_TEST

START_TEST(test_wal2json_malformed_objects_give_reasons)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"action\":\"B\"",
        "{\"lsn\":\"0/1\"}",
        "{\"action\":\"X\",\"nextlsn\":\"0/1\"}",
        "{\"action\":\"C\",\"lsn\":\"0/1\"}",
        "{\"action\":\"C\",\"nextlsn\":\"zz\"}",
        "{\"action\":\"C\",\"nextlsn\":\"0/1\",\"timestamp\":\"yesterday\"}",
        "{\"action\":\"M\",\"transactional\":true,\"prefix\":\"tvsync\"}",
        "{\"action\":\"M\",\"transactional\":1,\"prefix\":\"tvsync\",\"content\":\"x\"}",
        "{\"action\":\"BB\",\"nextlsn\":\"0/1\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wal2json_record record;
        char error[128] = "";
        ck_assert_msg(!wal2json_parse(bad[i], strlen(bad[i]), &record, error, sizeof error),
                      "accepted: %s", bad[i]);
        ck_assert_msg(error[0] != '\0', "no reason for: %s", bad[i]);
        ck_assert(record.prefix == NULL && record.content == NULL);
    }
}
END_TEST

START_TEST(test_intent_ids_are_kept_as_the_text_they_are)
{
    /* Any key's text form, byte for byte: a uuid in upper case, a bigint above
     * 2^53, text with a quote, a backslash, a comma, braces and unicode. */
    const char *text = "{\"entity\":\"post\",\"ids\":[\"0190e6c2-7a1b-7cde-8f00-0123456789AB\","
                       "\"9007199254740993\",\"a \\\"b\\\\c, {d}\",\"\\u00e9t\\u00e9\",\"\"]}";
    intent value;
    char reason[128];
    ck_assert(intent_parse(text, strlen(text), &value, reason, sizeof reason));
    ck_assert_int_eq(value.kind, INTENT_IDS);
    ck_assert_str_eq(value.entity, "post");
    ck_assert_uint_eq(value.id_count, 5);
    static const char *const expected[] = {"0190e6c2-7a1b-7cde-8f00-0123456789AB", "9007199254740993",
                                           "a \"b\\c, {d}", "\xc3\xa9t\xc3\xa9", ""};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(value.id_text + value.ids[i].offset, expected[i]);
        ck_assert_uint_eq(value.ids[i].length, strlen(expected[i]));
    }
    intent_free(&value);
    ck_assert(value.ids == NULL && value.id_text == NULL);
}
END_TEST

START_TEST(test_intent_rebuild_and_heartbeat)
{
    intent value;
    char reason[128];
    const char *rebuild = "{\"entity\":\"user\",\"rebuild\":true}";
    ck_assert(intent_parse(rebuild, strlen(rebuild), &value, reason, sizeof reason));
    ck_assert_int_eq(value.kind, INTENT_REBUILD);
    ck_assert_str_eq(value.entity, "user");
    intent_free(&value);
    const char *heartbeat = "{\"heartbeat\":\"2026-11-24T01:15:35.000001Z\"}";
    ck_assert(intent_parse(heartbeat, strlen(heartbeat), &value, reason, sizeof reason));
    ck_assert_int_eq(value.kind, INTENT_HEARTBEAT);
    ck_assert_int_eq(value.heartbeat_unix_us, INT64_C(1795482935000001));
    ck_assert_str_eq(value.heartbeat_nonce, "");
    intent_free(&value);
    const char *signed_heartbeat = "{\"heartbeat\":\"2026-11-24T01:15:35Z\",\"nonce\":\"00ff\"}";
    ck_assert(intent_parse(signed_heartbeat, strlen(signed_heartbeat), &value, reason, sizeof reason));
    ck_assert_int_eq(value.kind, INTENT_HEARTBEAT);
    ck_assert_str_eq(value.heartbeat_nonce, "00ff");
    intent_free(&value);
}
END_TEST

START_TEST(test_intent_with_text_after_its_json_is_malformed)
{
    static const char *const bad[] = {
        "{\"entity\":\"post\",\"ids\":[\"1\"]}garbage",
        "{\"entity\":\"post\",\"ids\":[\"1\"]} {\"entity\":\"user\",\"rebuild\":true}",
        "{\"entity\":\"post\",\"rebuild\":true}\n,",
        "{\"heartbeat\":\"2026-11-24T01:15:35Z\"}x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        intent value;
        char reason[128] = "";
        ck_assert_msg(!intent_parse(bad[i], strlen(bad[i]), &value, reason, sizeof reason), "accepted: %s", bad[i]);
        ck_assert_msg(strstr(reason, "text follows the JSON object") != NULL, "reason for %s: %s", bad[i], reason);
        ck_assert(value.ids == NULL && value.id_text == NULL);
    }
    /* Blanks around the object are JSON's own. */
    const char *padded = " {\"entity\":\"post\",\"ids\":[\"1\"]} \n\t";
    intent value;
    char reason[128];
    ck_assert(intent_parse(padded, strlen(padded), &value, reason, sizeof reason));
    ck_assert_uint_eq(value.id_count, 1);
    intent_free(&value);
    /* The length bounds the content: what lies after it is not looked at. */
    const char *prefix = "{\"entity\":\"post\",\"ids\":[\"1\"]}trailing";
    ck_assert(intent_parse(prefix, strlen(prefix) - strlen("trailing"), &value, reason, sizeof reason));
    intent_free(&value);
}
END_TEST

START_TEST(test_malformed_intents_are_rejected_with_reason)
{
    static const char *const bad[] = {
        "post:1",
        "{\"ids\":[]}",
        "{\"entity\":\"po st\",\"ids\":[]}",
        "{\"entity\":\"post\"}",
        "{\"entity\":\"post\",\"ids\":\"x\"}",
        /* ids are strings in the key's text form, never JSON numbers (a
         * bigint would lose digits on the way through a double) */
        "{\"entity\":\"post\",\"ids\":[12]}",
        "{\"entity\":\"post\",\"ids\":[\"1\",9007199254740993]}",
        "{\"entity\":\"post\",\"ids\":[null]}",
        "{\"entity\":\"post\",\"ids\":[[\"1\"]]}",
        "{\"entity\":\"post\",\"rebuild\":false}",
        "{\"heartbeat\":12}",
        "{\"heartbeat\":\"2026-11-24T01:15:35Z\",\"nonce\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        intent value;
        char reason[128] = "";
        ck_assert_msg(!intent_parse(bad[i], strlen(bad[i]), &value, reason, sizeof reason),
                      "accepted: %s", bad[i]);
        ck_assert_msg(reason[0] != '\0', "no reason for: %s", bad[i]);
        ck_assert(value.ids == NULL && value.id_text == NULL);
    }
}
END_TEST

static bool fits(intent_key key, const char *id)
{
    return intent_id_fits(key, id, strlen(id));
}

START_TEST(test_ids_that_no_key_value_can_have_are_told_apart)
{
    ck_assert_int_eq(intent_key_of("uuid"), INTENT_KEY_UUID);
    ck_assert_int_eq(intent_key_of("bigint"), INTENT_KEY_BIGINT);
    ck_assert_int_eq(intent_key_of("integer"), INTENT_KEY_INTEGER);
    ck_assert_int_eq(intent_key_of("text"), INTENT_KEY_TEXT);
    /* What uuid_in reads. */
    ck_assert(fits(INTENT_KEY_UUID, "0190e6c2-7a1b-7cde-8f00-0123456789AB"));
    ck_assert(fits(INTENT_KEY_UUID, "0190e6c27a1b7cde8f000123456789ab"));
    ck_assert(fits(INTENT_KEY_UUID, "{0190e6c2-7a1b-7cde-8f00-0123456789ab}"));
    ck_assert(fits(INTENT_KEY_UUID, "0190-e6c2-7a1b-7cde-8f00-0123-4567-89ab"));
    ck_assert(!fits(INTENT_KEY_UUID, "0190e6c2-7a1b-7cde-8f00-0123456789a"));
    ck_assert(!fits(INTENT_KEY_UUID, "0190e6c2-7a1b-7cde-8f00-0123456789abc"));
    ck_assert(!fits(INTENT_KEY_UUID, "-0190e6c2-7a1b-7cde-8f00-0123456789ab"));
    ck_assert(!fits(INTENT_KEY_UUID, "0190e6c2-7a1b-7cde-8f00-0123456789ab-"));
    ck_assert(!fits(INTENT_KEY_UUID, "0190e6c2--7a1b-7cde-8f00-0123456789ab"));
    ck_assert(!fits(INTENT_KEY_UUID, "{0190e6c2-7a1b-7cde-8f00-0123456789ab"));
    ck_assert(!fits(INTENT_KEY_UUID, "not-a-uuid"));
    ck_assert(!fits(INTENT_KEY_UUID, ""));
    /* Numbers in range; the letters of 0x1F are the database's to judge. */
    ck_assert(fits(INTENT_KEY_BIGINT, "9007199254740993"));
    ck_assert(fits(INTENT_KEY_BIGINT, "-5"));
    ck_assert(fits(INTENT_KEY_BIGINT, " +7 "));
    ck_assert(fits(INTENT_KEY_BIGINT, "9223372036854775807"));
    ck_assert(fits(INTENT_KEY_BIGINT, "-9223372036854775808"));
    ck_assert(fits(INTENT_KEY_BIGINT, "0009223372036854775807"));
    ck_assert(!fits(INTENT_KEY_BIGINT, "9223372036854775808"));
    ck_assert(!fits(INTENT_KEY_BIGINT, "-9223372036854775809"));
    ck_assert(!fits(INTENT_KEY_BIGINT, "99999999999999999999"));
    ck_assert(fits(INTENT_KEY_INTEGER, "2147483647"));
    ck_assert(!fits(INTENT_KEY_INTEGER, "2147483648"));
    ck_assert(fits(INTENT_KEY_INTEGER, "-2147483648"));
    ck_assert(!fits(INTENT_KEY_SMALLINT, "40000"));
    ck_assert(fits(INTENT_KEY_BIGINT, "0x1F"));
    ck_assert(fits(INTENT_KEY_BIGINT, "12abc"));
    ck_assert(!fits(INTENT_KEY_BIGINT, "x"));
    ck_assert(!fits(INTENT_KEY_BIGINT, ""));
    ck_assert(!fits(INTENT_KEY_BIGINT, "-"));
    ck_assert(!fits(INTENT_KEY_BIGINT, "1 2"));
    ck_assert(!fits(INTENT_KEY_BIGINT, "1,2"));
    ck_assert(!fits(INTENT_KEY_BIGINT, "1.5"));
    ck_assert(!fits(INTENT_KEY_INTEGER, "0190e6c2-7a1b-7cde-8f00-0123456789ab"));
    /* Text keys: anything. */
    ck_assert(fits(INTENT_KEY_TEXT, ""));
    ck_assert(fits(INTENT_KEY_TEXT, "x, {\"y\"}"));
}
END_TEST

static const char *normalized(intent_key key, const char *id)
{
    static char buffer[128];
    snprintf(buffer, sizeof buffer, "%s", id);
    uint32_t length = (uint32_t) strlen(buffer);
    intent_id_normalize(key, buffer, &length);
    ck_assert_uint_eq(length, strlen(buffer));
    return buffer;
}

START_TEST(test_ids_take_the_key_types_output_form)
{
    ck_assert_str_eq(normalized(INTENT_KEY_UUID, "0190E6C2-7A1B-7CDE-8F00-0123456789AB"),
                     "0190e6c2-7a1b-7cde-8f00-0123456789ab");
    ck_assert_str_eq(normalized(INTENT_KEY_UUID, "{0190e6c2-7a1b-7cde-8f00-0123456789ab}"),
                     "0190e6c2-7a1b-7cde-8f00-0123456789ab");
    ck_assert_str_eq(normalized(INTENT_KEY_UUID, "0190-e6c2-7a1b-7cde-8f00-0123-4567-89ab"),
                     "0190e6c2-7a1b-7cde-8f00-0123456789ab");
    /* the output form would be longer: left to the database */
    ck_assert_str_eq(normalized(INTENT_KEY_UUID, "0190E6C27A1B7CDE8F000123456789AB"), "0190E6C27A1B7CDE8F000123456789AB");
    ck_assert_str_eq(normalized(INTENT_KEY_BIGINT, " +0009007199254740993 "), "9007199254740993");
    ck_assert_str_eq(normalized(INTENT_KEY_BIGINT, "-0005"), "-5");
    ck_assert_str_eq(normalized(INTENT_KEY_BIGINT, "-000"), "0");
    ck_assert_str_eq(normalized(INTENT_KEY_INTEGER, "0"), "0");
    ck_assert_str_eq(normalized(INTENT_KEY_INTEGER, "42"), "42");
    ck_assert_str_eq(normalized(INTENT_KEY_BIGINT, "0x1F"), "0x1F");
    ck_assert_str_eq(normalized(INTENT_KEY_TEXT, " +0007 "), " +0007 ");
}
END_TEST

START_TEST(test_ids_json_quotes_any_id)
{
    const char *ids[] = {"a\"b\\c", "9007199254740993"};
    char *text = intent_ids_json("note", ids, 2);
    ck_assert_str_eq(text, "{\"entity\":\"note\",\"ids\":[\"a\\\"b\\\\c\",\"9007199254740993\"]}");
    intent value;
    char reason[128];
    ck_assert(intent_parse(text, strlen(text), &value, reason, sizeof reason));
    ck_assert_str_eq(value.id_text + value.ids[0].offset, ids[0]);
    ck_assert_str_eq(value.id_text + value.ids[1].offset, ids[1]);
    intent_free(&value);
    free(text);
}
END_TEST

static Suite *protocol_suite(void)
{
    Suite *suite = suite_create("cdc_protocol");
    TCase *framing = tcase_create("framing");
    tcase_add_test(framing, test_xlog_data_header_and_payload_are_decoded);
    tcase_add_test(framing, test_keepalive_reply_requested_is_decoded);
    tcase_add_test(framing, test_truncated_or_unknown_messages_are_rejected);
    tcase_add_test(framing, test_status_update_is_34_big_endian_bytes);
    tcase_add_test(framing, test_postgres_epoch_conversion);
    suite_add_tcase(suite, framing);
    TCase *wal2json = tcase_create("wal2json");
    tcase_add_test(wal2json, test_wal2json_begin_object);
    tcase_add_test(wal2json, test_wal2json_message_object);
    tcase_add_test(wal2json, test_wal2json_commit_object);
    tcase_add_test(wal2json, test_wal2json_insert_object_gives_its_columns_as_text);
    tcase_add_test(wal2json, test_wal2json_malformed_objects_give_reasons);
    suite_add_tcase(suite, wal2json);
    TCase *intents = tcase_create("intent");
    tcase_add_test(intents, test_intent_ids_are_kept_as_the_text_they_are);
    tcase_add_test(intents, test_intent_rebuild_and_heartbeat);
    tcase_add_test(intents, test_malformed_intents_are_rejected_with_reason);
    tcase_add_test(intents, test_intent_with_text_after_its_json_is_malformed);
    tcase_add_test(intents, test_ids_that_no_key_value_can_have_are_told_apart);
    tcase_add_test(intents, test_ids_take_the_key_types_output_form);
    tcase_add_test(intents, test_ids_json_quotes_any_id);
    suite_add_tcase(suite, intents);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(protocol_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
