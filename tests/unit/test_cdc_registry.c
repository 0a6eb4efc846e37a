/* test_cdc_registry: the registry as tvsync.registry_json() gives it, at start and
 * from the log: entities, cascade edges with their watched keys, and rejections. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/registry.h"

/* The shape tvsync.registry_json() returns (040, key_type since 041; json's spacing). */
static const char *const blog_registry =
    "{\"entities\" : [{\"name\" : \"comment\", \"tv_table\" : \"public.tv_comment\", "
    "\"source_table\" : \"public.tb_comment\", \"build_function\" : \"public.fn_build_comment\", \"key_type\" : \"uuid\"}, "
    "{\"name\" : \"post\", \"tv_table\" : \"public.tv_post\", \"source_table\" : \"public.tb_post\", "
    "\"build_function\" : \"public.fn_build_post\", \"key_type\" : \"bigint\"}, "
    "{\"name\" : \"user\", \"tv_table\" : \"\\\"My Schema\\\".tv_user\", \"source_table\" : \"public.tb_user\", "
    "\"build_function\" : \"public.fn_build_user\", \"key_type\" : \"text\"}], "
    "\"cascades\" : [{\"source\" : \"comment\", \"target\" : \"post\", \"query\" : \"SELECT 1\", \"watch\" : null}, "
    "{\"source\" : \"user\", \"target\" : \"post\", \"query\" : \"SELECT $1\", \"watch\" : [\"username\",\"fullName\"]}]}";

static bool parse(const char *text, registry *out, char *error, size_t error_size)
{
    return registry_from_json(text, strlen(text), out, error, error_size);
}

START_TEST(test_registry_json_gives_entities_and_edges)
{
    registry reg;
    char error[256];
    ck_assert_msg(parse(blog_registry, &reg, error, sizeof error), "%s", error);
    ck_assert_uint_eq(reg.entity_count, 3);
    ck_assert_str_eq(reg.entities[1], "post");
    ck_assert_str_eq(reg.tv_tables[2], "\"My Schema\".tv_user");
    ck_assert_str_eq(reg.build_functions[0], "public.fn_build_comment");
    ck_assert_str_eq(reg.key_types[0], "uuid");
    ck_assert_str_eq(reg.key_types[1], "bigint");
    ck_assert_str_eq(reg.key_types[2], "text");
    ck_assert_uint_eq(registry_index(&reg, "user"), 2);
    ck_assert_uint_eq(registry_index(&reg, "comment"), 0);
    ck_assert_uint_eq(registry_index(&reg, "post"), 1);
    ck_assert_uint_eq(registry_index(&reg, "a"), reg.entity_count);
    ck_assert_uint_eq(registry_index(&reg, "zzz"), reg.entity_count);
    ck_assert(registry_has_entity(&reg, "comment"));
    ck_assert(!registry_has_entity(&reg, "tag"));
    ck_assert_uint_eq(registry_index(&reg, "tag"), reg.entity_count);
    ck_assert_uint_eq(reg.cascade_count, 2);
    ck_assert_str_eq(reg.edges[0].source, "comment");
    ck_assert_str_eq(reg.edges[0].target, "post");
    ck_assert_ptr_null(reg.edges[0].watches);   /* null: every key */
    ck_assert_str_eq(reg.queries[1], "SELECT $1");
    ck_assert_str_eq(reg.edges[1].watches[0], "username");
    ck_assert_str_eq(reg.edges[1].watches[1], "fullName");
    ck_assert_ptr_null(reg.edges[1].watches[2]);
    registry_free(&reg);
    registry_free(&reg);   /* zeroed: freeing again is harmless */
}
END_TEST

START_TEST(test_nested_watch_paths_go_into_their_source_entity_diff)
{
    /* comment's two edges watch author.username (twice: compared once) and a
     * quoted top-level key; post's edge watches top-level keys only. */
    const char *text =
        "{\"entities\":[{\"name\":\"comment\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"},"
        "{\"name\":\"post\",\"tv_table\":\"u\",\"build_function\":\"g\",\"key_type\":\"uuid\"}],"
        "\"cascades\":[{\"source\":\"comment\",\"target\":\"post\",\"query\":\"q\","
        "\"watch\":[\"author.username\",\"\\\"a.b\\\"\"]},"
        "{\"source\":\"comment\",\"target\":\"comment\",\"query\":\"q\",\"watch\":[\"author.username\"]},"
        "{\"source\":\"post\",\"target\":\"comment\",\"query\":\"q\",\"watch\":[\"title\"]}]}";
    registry reg;
    char error[256];
    ck_assert_msg(parse(text, &reg, error, sizeof error), "%s", error);
    ck_assert_str_eq(reg.edges[0].watches[0], "author.username");
    ck_assert_str_eq(reg.edges[0].watches[1], "a.b");   /* the key the diff lists */
    ck_assert_ptr_nonnull(reg.nested_changed[0]);
    const char *first = strstr(reg.nested_changed[0], "THEN E'author.username' END");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "THEN E'author.username' END"));
    ck_assert_ptr_null(strstr(reg.nested_changed[0], "a.b"));
    ck_assert_ptr_null(reg.nested_changed[1]);
    registry_free(&reg);
}
END_TEST

START_TEST(test_a_cascade_patch_is_read_and_absent_or_null_is_none)
{
    /* 046's shape: "patch" on every cascade, a quoted function or null; an
     * older engine's has no "patch" at all (the blog_registry above). */
    const char *text =
        "{\"entities\":[{\"name\":\"comment\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"},"
        "{\"name\":\"post\",\"tv_table\":\"u\",\"build_function\":\"g\",\"key_type\":\"bigint\"}],"
        "\"cascades\":[{\"source\":\"comment\",\"target\":\"post\",\"query\":\"q\",\"watch\":null,"
        "\"patch\":\"\\\"My Schema\\\".fn_patch_post\"},"
        "{\"source\":\"post\",\"target\":\"comment\",\"query\":\"q\",\"watch\":null,\"patch\":null}]}";
    registry reg;
    char error[256];
    ck_assert_msg(parse(text, &reg, error, sizeof error), "%s", error);
    ck_assert_uint_eq(reg.cascade_count, 2);
    ck_assert_str_eq(reg.patches[0], "\"My Schema\".fn_patch_post");
    ck_assert_ptr_null(reg.patches[1]);
    registry_free(&reg);
    ck_assert_msg(parse(blog_registry, &reg, error, sizeof error), "%s", error);
    ck_assert_ptr_null(reg.patches[0]);
    ck_assert_ptr_null(reg.patches[1]);
    registry_free(&reg);
}
END_TEST

START_TEST(test_empty_registry_is_a_registry)
{
    registry reg;
    char error[256];
    const char *text = "{\"entities\" : [], \"cascades\" : []}";
    ck_assert(parse(text, &reg, error, sizeof error));
    ck_assert_uint_eq(reg.entity_count, 0);
    ck_assert_uint_eq(reg.cascade_count, 0);
    ck_assert(!registry_has_entity(&reg, "post"));
    registry_free(&reg);
}
END_TEST

START_TEST(test_malformed_registries_are_rejected_with_reason)
{
    static const struct {
        const char *text;
        const char *reason;
    } cases[] = {
        {"not json", "not an object with the arrays \"entities\" and \"cascades\""},
        {"{\"entities\":[]}", "not an object with the arrays \"entities\" and \"cascades\""},
        {"{\"entities\":[{\"name\":\"post\",\"tv_table\":\"t\"}],\"cascades\":[]}",
         "entity 0: \"build_function\" is missing or not a string"},
        {"{\"entities\":[{\"name\":\"post\",\"tv_table\":\"t\",\"build_function\":\"f\"}],\"cascades\":[]}",
         "entity 0: \"key_type\" is missing or not a string"},
        {"{\"entities\":[{\"name\":\"\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"}],\"cascades\":[]}",
         "entity 0: the name is empty or longer than 63 bytes"},
        {"{\"entities\":[{\"name\":\"a\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"},"
         "{\"name\":\"a\",\"tv_table\":\"u\",\"build_function\":\"g\",\"key_type\":\"uuid\"}],\"cascades\":[]}",
         "entity \"a\" is not after \"a\" (repeated or out of order)"},
        {"{\"entities\":[{\"name\":\"b\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"},"
         "{\"name\":\"a\",\"tv_table\":\"u\",\"build_function\":\"g\",\"key_type\":\"uuid\"}],\"cascades\":[]}",
         "entity \"a\" is not after \"b\" (repeated or out of order)"},
        {"{\"entities\":[{\"name\":\"a\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"}],"
         "\"cascades\":[{\"source\":\"a\",\"target\":\"b\",\"query\":\"q\"}]}",
         "cascade 0 (a -> b) names an entity the registry does not have"},
        {"{\"entities\":[{\"name\":\"a\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"}],"
         "\"cascades\":[{\"source\":\"a\",\"target\":\"a\",\"query\":\"q\",\"watch\":[1]}]}",
         "cascade 0: a watched key is not a string"},
        {"{\"entities\":[{\"name\":\"a\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"}],"
         "\"cascades\":[{\"source\":\"a\",\"target\":\"a\",\"query\":\"q\",\"watch\":\"k\"}]}",
         "cascade 0: \"watch\" is neither null nor an array"},
        {"{\"entities\":[{\"name\":\"a\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"}],"
         "\"cascades\":[{\"source\":\"a\",\"target\":\"a\",\"query\":\"q\",\"patch\":[\"p\"]}]}",
         "cascade 0 (a -> a): \"patch\" is neither null nor a function name"},
        {"{\"entities\":[{\"name\":\"a\",\"tv_table\":\"t\",\"build_function\":\"f\",\"key_type\":\"uuid\"}],"
         "\"cascades\":[{\"source\":\"a\",\"target\":\"a\",\"query\":\"q\",\"patch\":\"\"}]}",
         "cascade 0 (a -> a): \"patch\" is neither null nor a function name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        registry reg;
        char error[256] = "";
        ck_assert_msg(!parse(cases[i].text, &reg, error, sizeof error), "case %zu accepted", i);
        ck_assert_str_eq(error, cases[i].reason);
        ck_assert_uint_eq(reg.entity_count, 0);
        ck_assert_ptr_null(reg.entities);   /* nothing to free */
    }
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *suite = suite_create("cdc_registry");
    TCase *json = tcase_create("json");
    tcase_add_test(json, test_registry_json_gives_entities_and_edges);
    tcase_add_test(json, test_empty_registry_is_a_registry);
    tcase_add_test(json, test_a_cascade_patch_is_read_and_absent_or_null_is_none);
    tcase_add_test(json, test_nested_watch_paths_go_into_their_source_entity_diff);
    tcase_add_test(json, test_malformed_registries_are_rejected_with_reason);
    suite_add_tcase(suite, json);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(registry_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
