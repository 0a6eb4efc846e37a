/* Unit tests for declare/decl_patch and the patch objects decl_sql_read_models writes: which
 * declared lists are patched along a cascade edge, the order spec, and why the others are not. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "declare/decl_patch.h"
#include "declare/decl_sql.h"

#define S(text) ((char *) (text))

/* lib.tb_board (bigint key) and its lib.tb_card rows (uuid key); a card may have sub-cards. */
static decl_type types[5];

static decl_field card_ref_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "rank", .kind = DECL_FIELD_COLUMN, .graphql_type = "Int", .column = "rank"},
    {.name = "label", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "label"},
    {.name = "createdAt", .kind = DECL_FIELD_COLUMN, .graphql_type = "DateTime", .non_null = true,
     .column = "created_at"},
    {.name = "meta", .kind = DECL_FIELD_COLUMN, .graphql_type = "JSON", .column = "meta"},
    {.name = "code", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .column = "code"},
};

/* a card with its sub-cards: the list reads tb_card again inside each element */
static decl_field card_tree_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "children", .kind = DECL_FIELD_MANY, .graphql_type = "CardRef", .list = true, .via = "parent_id",
     .target_type = &types[1]},
};

static decl_field board_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "name", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "name"},
    {.name = "cards", .kind = DECL_FIELD_MANY, .graphql_type = "CardRef", .list = true, .via = "board_id",
     .order_by = "rank DESC NULLS FIRST,label", .target_type = &types[1]},
    {.name = "cardCount", .kind = DECL_FIELD_AGGREGATE, .graphql_type = "Int", .aggregate = DECL_COUNT,
     .from = "lib.tb_card", .via = "board_id"},
};

static decl_field card_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "label", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "label"},
};

/* a second read model of boards whose list cannot be patched (orderBy is an expression) */
static decl_field wall_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "cards", .kind = DECL_FIELD_MANY, .graphql_type = "CardRef", .list = true, .via = "board_id",
     .order_by = "lower(label)", .target_type = &types[1]},
};

static decl_type types[5] = {
    {.name = "Board", .entity = true, .entity_name = "board", .source_schema = "lib", .source_table = "tb_board",
     .fields = board_fields, .field_count = 4},
    {.name = "CardRef", .source_schema = "lib", .source_table = "tb_card", .fields = card_ref_fields,
     .field_count = 6},
    {.name = "Card", .entity = true, .entity_name = "card", .source_schema = "lib", .source_table = "tb_card",
     .fields = card_fields, .field_count = 2},
    {.name = "CardTree", .source_schema = "lib", .source_table = "tb_card", .fields = card_tree_fields,
     .field_count = 2},
    {.name = "Wall", .entity = true, .entity_name = "wall", .source_schema = "lib", .source_table = "tb_board",
     .fields = wall_fields, .field_count = 2},
};

static const decl_model model = {.path = "boards.graphql", .types = types, .type_count = 5};

static decl_column board_columns[] = {
    {S("id"), S("bigint"), true, true, false},
    {S("name"), S("text"), true, false, false},
};

static decl_column card_columns[] = {
    {S("id"), S("uuid"), true, true, false},
    {S("board_id"), S("bigint"), true, false, false},
    {S("parent_id"), S("uuid"), false, false, false},
    {S("rank"), S("integer"), false, false, false},
    {S("label"), S("text"), true, false, false},
    {S("created_at"), S("timestamp with time zone"), true, true, false},
    {S("updated_at"), S("timestamp with time zone"), true, true, false},
    {S("meta"), S("jsonb"), false, false, false},
    {S("code"), S("text"), false, false, true}, /* COLLATE "C" */
};
static decl_foreign_key card_foreign_keys[] = {
    {S("tb_card_board_id_fkey"), S("board_id"), S("lib"), S("tb_board"), S("id")},
    {S("tb_card_parent_id_fkey"), S("parent_id"), S("lib"), S("tb_card"), S("id")},
};

static decl_table tables[] = {
    {.schema = S("lib"), .name = S("tb_board"), .columns = board_columns, .column_count = 2, .key = S("id"),
     .key_type = S("bigint")},
    {.schema = S("lib"), .name = S("tb_card"), .columns = card_columns, .column_count = 9, .key = S("id"),
     .key_type = S("uuid"), .foreign_keys = card_foreign_keys, .foreign_key_count = 2},
};

static const decl_catalog catalog = {.tables = tables, .table_count = 2};

/* decl_patch_list for Board.cards ordered by order_by (NULL: by key), or for a list of type
 * element; spec gets the order spec or the reason. */
static bool patchable(const char *order_by, const decl_type *element, strbuf *spec)
{
    decl_field list = board_fields[2];
    list.order_by = order_by;
    if (element)
        list.target_type = element;
    strbuf key = STRBUF_INIT, why = STRBUF_INIT;
    bool ok = decl_patch_list(&catalog, &list, &tables[1], spec, &key, &why);
    if (ok)
        ck_assert_str_eq(key.data, "id");
    else
        strbuf_append(spec, why.data);
    strbuf_free(&key);
    strbuf_free(&why);
    return ok;
}

#define KEY_SPEC "{\"field\": \"id\", \"type\": \"uuid\", \"desc\": false, \"nulls_first\": false}"

START_TEST(test_columns_with_directions_give_the_order_spec_with_the_key_last)
{
    strbuf spec = STRBUF_INIT;
    ck_assert(patchable("rank DESC NULLS FIRST,label", NULL, &spec));
    ck_assert_str_eq(spec.data, "[{\"field\": \"rank\", \"type\": \"integer\", \"desc\": true, \"nulls_first\": true}, "
                                "{\"field\": \"label\", \"type\": \"text\", \"desc\": false, \"nulls_first\": false}, " KEY_SPEC "]");
    strbuf_reset(&spec);
    /* DESC alone puts NULLs first, as PostgreSQL does; a timestamptz goes through iso_time */
    ck_assert(patchable("  created_at desc ", NULL, &spec));
    ck_assert_str_eq(spec.data, "[{\"field\": \"createdAt\", \"type\": \"timestamptz\", \"desc\": true, "
                                "\"nulls_first\": true}, " KEY_SPEC "]");
    strbuf_reset(&spec);
    ck_assert(patchable("rank asc nulls last", NULL, &spec));
    ck_assert_str_eq(spec.data, "[{\"field\": \"rank\", \"type\": \"integer\", \"desc\": false, \"nulls_first\": false}, "
                                KEY_SPEC "]");
    strbuf_reset(&spec);
    ck_assert(patchable(NULL, NULL, &spec));
    ck_assert_str_eq(spec.data, "[" KEY_SPEC "]");
    strbuf_free(&spec);
}
END_TEST

START_TEST(test_lists_whose_order_the_elements_do_not_carry_are_not_patched)
{
    static const struct {
        const char *order_by, *why;
    } cases[] = {
        {"lower(label)", "its orderBy \"lower(label)\" is not a list of columns"},
        {"rank nulls", "is not a list of columns"},
        {"rank, ", "is not a list of columns"},
        {"\"rank\"", "is not a list of columns"},
        {"meta", "CardRef.meta holds meta (jsonb) in a form whose order is not the column's"},
        {"updated_at", "CardRef has no field holding the column updated_at it is ordered by"},
        {"nope", "its orderBy names \"nope\", not a column of lib.tb_card"},
        {"code", "its orderBy column code has its own collation"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        strbuf why = STRBUF_INIT;
        ck_assert_msg(!patchable(cases[i].order_by, NULL, &why), "%s", cases[i].order_by);
        ck_assert_msg(strstr(why.data, cases[i].why), "%s: %s", cases[i].order_by, why.data);
        strbuf_free(&why);
    }
}
END_TEST

START_TEST(test_elements_that_read_the_rows_table_again_are_not_patched)
{
    strbuf why = STRBUF_INIT;
    ck_assert(!patchable(NULL, &types[3], &why));
    ck_assert_str_eq(why.data, "CardTree.children reads lib.tb_card again (a change to one row would change other elements)");
    strbuf_free(&why);
}
END_TEST

static const char *object_sql(const decl_objects *objects, const char *key)
{
    for (size_t i = 0; i < objects->count; i++)
        if (strcmp(objects->items[i].key, key) == 0)
            return objects->items[i].sql;
    return NULL;
}

START_TEST(test_each_edge_gets_its_patch_function_or_says_why_not)
{
    decl_objects objects = {0};
    decl_sql_read_models(&model, &catalog, &objects);
    const char *function = object_sql(&objects, "function lib.fn_patch_board_from_card");
    ck_assert_ptr_nonnull(function);
    ck_assert_ptr_nonnull(strstr(function, "CREATE OR REPLACE FUNCTION lib.fn_patch_board_from_card(ids bigint[], changed uuid[])"));
    ck_assert_ptr_nonnull(strstr(function, "tvsync.patch_list(old.data -> 'cards', $2::text[]"));
    /* the count is its own subquery, not read from the list */
    ck_assert_ptr_nonnull(strstr(function, "'cardCount', (SELECT count(*) FROM lib.tb_card"));
    const char *patch = object_sql(&objects, "patch card board");
    ck_assert_ptr_nonnull(patch);
    ck_assert_ptr_nonnull(strstr(patch, "SET patch_function = 'lib.fn_patch_board_from_card(bigint[], uuid[])'"));
    /* the patch objects come after the cascade they register on */
    size_t cascade_at = 0, patch_at = 0;
    for (size_t i = 0; i < objects.count; i++) {
        if (strcmp(objects.items[i].key, "cascade card board") == 0)
            cascade_at = i;
        if (strcmp(objects.items[i].key, "patch card board") == 0)
            patch_at = i;
        ck_assert_ptr_null(objects.items[i].key[0] == 'p' ? objects.items[i].rebuild : NULL);
    }
    ck_assert_uint_lt(cascade_at, patch_at);
    const char *wall = object_sql(&objects, "patch card wall");
    ck_assert_ptr_nonnull(wall);
    ck_assert_ptr_nonnull(strstr(wall, "-- no patch function along card -> wall: Wall.cards: its orderBy \"lower(label)\""));
    ck_assert_ptr_nonnull(strstr(wall, "SET patch_function = NULL"));
    ck_assert_ptr_null(object_sql(&objects, "function lib.fn_patch_wall_from_card"));
    /* an edge with no top-level list of the source's rows has nothing to patch */
    ck_assert_ptr_null(object_sql(&objects, "patch board card"));
    decl_objects_free(&objects);
}
END_TEST

START_TEST(test_reverse_order_flips_directions_and_nulls_then_the_key)
{
    static const struct { const char *order_by, *reversed; } cases[] = {
        {NULL, "t1.id DESC"},
        {"created_at", "created_at DESC NULLS FIRST, t1.id DESC"},
        {"rank DESC NULLS LAST, label", "rank ASC NULLS FIRST, label DESC NULLS FIRST, t1.id DESC"},
        {" a  asc nulls first ,b desc", "a DESC NULLS LAST, b ASC NULLS LAST, t1.id DESC"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strbuf out = STRBUF_INIT;
        ck_assert(decl_sql_reverse_order(cases[i].order_by, "t1.id", &out));
        ck_assert_str_eq(out.data, cases[i].reversed);
        strbuf_free(&out);
    }
    static const char *const bad[] = {"lower(a)", "a b", "a DESC NULLS", "a NULLS middle", "A", "a DESC x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strbuf out = STRBUF_INIT;
        ck_assert_msg(!decl_sql_reverse_order(bad[i], "id", &out), "%s", bad[i]);
        ck_assert_uint_eq(out.length, 0);
        strbuf_free(&out);
    }
}
END_TEST

START_TEST(test_a_bounded_list_is_read_through_limit_and_not_patched)
{
    board_fields[2].window = 20;
    board_fields[2].window_last = true;
    decl_objects objects = {0};
    decl_sql_read_models(&model, &catalog, &objects);
    const char *build = object_sql(&objects, "function lib.fn_build_board");
    ck_assert_ptr_nonnull(build);
    /* the last 20 by the reversed order, listed in the declared one; the count sees every row */
    ck_assert_ptr_nonnull(strstr(build, "ORDER BY rank DESC NULLS FIRST,label, t1.id) FROM (SELECT t1.* FROM lib.tb_card t1 "
                                        "WHERE t1.board_id = t0.id ORDER BY rank ASC NULLS LAST, label DESC NULLS FIRST, "
                                        "t1.id DESC LIMIT 20) t1)"));
    ck_assert_ptr_nonnull(strstr(build, "'cardCount', (SELECT count(*) FROM lib.tb_card"));
    ck_assert_ptr_null(strstr(build, "LATERAL"));
    /* the window is read in order through an index on the foreign key and the order columns */
    const char *index = object_sql(&objects, "index lib.tb_card_board_id_rank_label_idx");
    ck_assert_ptr_nonnull(index);
    ck_assert_ptr_nonnull(strstr(index, "CREATE INDEX IF NOT EXISTS tb_card_board_id_rank_label_idx ON lib.tb_card "
                                        "(board_id, rank, label);"));
    ck_assert_ptr_nonnull(strstr(index, "i.indnkeyatts >= 3"));
    ck_assert_ptr_nonnull(object_sql(&objects, "function lib.fn_build_card"));
    ck_assert_ptr_null(object_sql(&objects, "function lib.fn_patch_board_from_card"));
    const char *patch = object_sql(&objects, "patch card board");
    ck_assert_ptr_nonnull(patch);
    ck_assert_ptr_nonnull(strstr(patch, "Board.cards keeps at most 20 rows (last: 20)"));
    ck_assert_ptr_nonnull(strstr(patch, "SET patch_function = NULL"));
    decl_objects_free(&objects);

    board_fields[2].window_last = false;
    decl_sql_read_models(&model, &catalog, &objects);
    build = object_sql(&objects, "function lib.fn_build_board");
    ck_assert_ptr_nonnull(strstr(build, "WHERE t1.board_id = t0.id ORDER BY rank DESC NULLS FIRST,label, t1.id LIMIT 20) t1)"));
    decl_objects_free(&objects);
    board_fields[2].window = 0;
}
END_TEST

static Suite *decl_patch_suite(void)
{
    Suite *suite = suite_create("decl_patch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_columns_with_directions_give_the_order_spec_with_the_key_last);
    tcase_add_test(tc, test_lists_whose_order_the_elements_do_not_carry_are_not_patched);
    tcase_add_test(tc, test_elements_that_read_the_rows_table_again_are_not_patched);
    tcase_add_test(tc, test_each_edge_gets_its_patch_function_or_says_why_not);
    tcase_add_test(tc, test_reverse_order_flips_directions_and_nulls_then_the_key);
    tcase_add_test(tc, test_a_bounded_list_is_read_through_limit_and_not_patched);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(decl_patch_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
