/* Unit tests for declare/decl_crud: the CRUD functions of a hand-built model and catalog.
 * `test_decl_crud --write-sql FILE` writes their SQL for tests/integration/declare_crud.sh. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "declare/decl_sql.h"

#define S(text) ((char *) (text))

/* The library domain of tests/integration/declare_crud.sh (schema lib): authors, books
 * (NOT NULL, UNIQUE, a two-column UNIQUE, CHECK, FK, defaults), tags and the books' tags. */
static decl_type types[5];

static decl_field author_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "name", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "name"},
    {.name = "email", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .column = "email"},
    {.name = "bookCount", .kind = DECL_FIELD_AGGREGATE, .graphql_type = "Int", .aggregate = DECL_COUNT,
     .from = "lib.tb_book", .via = "author_id"},
};

static decl_field author_ref_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "name", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "name"},
};

static decl_field book_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "title", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "title"},
    {.name = "isbn", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "isbn"},
    {.name = "pages", .kind = DECL_FIELD_COLUMN, .graphql_type = "Int", .column = "pages"},
    {.name = "price", .kind = DECL_FIELD_COLUMN, .graphql_type = "Float", .column = "price"},
    {.name = "author", .kind = DECL_FIELD_REF, .graphql_type = "AuthorRef", .non_null = true, .via = "author_id",
     .target_type = &types[1]},
    {.name = "publishedOn", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .column = "published_on"},
    {.name = "createdAt", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "created_at"},
    {.name = "meta", .kind = DECL_FIELD_COLUMN, .graphql_type = "JSON", .column = "meta"},
    {.name = "titleLength", .kind = DECL_FIELD_COLUMN, .graphql_type = "Int", .column = "title_length"},
    {.name = "chapterPages", .kind = DECL_FIELD_COLUMN, .graphql_type = "Int", .list = true, .column = "chapter_pages"},
    {.name = "words", .kind = DECL_FIELD_EXPR, .graphql_type = "Int", .sql = "length(title)"},
    {.name = "tags", .kind = DECL_FIELD_MANY, .graphql_type = "Tag", .list = true, .through = "lib.tb_book_tag",
     .via = "book_id", .target = "tag_id", .target_type = &types[3]},
};

static decl_field tag_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "label", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "label"},
    {.name = "relatedBooks", .kind = DECL_FIELD_MANY, .graphql_type = "BookCard", .list = true,
     .through = "lib.tb_book_tag", .via = "tag_id", .target = "book_id", .target_type = &types[4]},
    {.name = "bookCount", .kind = DECL_FIELD_AGGREGATE, .graphql_type = "Int", .aggregate = DECL_COUNT,
     .from = "lib.tb_book_tag", .via = "tag_id"},
};

static decl_field book_card_fields[] = {
    {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
    {.name = "title", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .non_null = true, .column = "title"},
};

static decl_type types[5] = {
    {.name = "Author", .entity = true, .entity_name = "author", .source_schema = "lib", .source_table = "tb_author",
     .crud = true, .fields = author_fields, .field_count = 4},
    {.name = "AuthorRef", .source_schema = "lib", .source_table = "tb_author", .fields = author_ref_fields,
     .field_count = 2},
    {.name = "Book", .entity = true, .entity_name = "book", .source_schema = "lib", .source_table = "tb_book",
     .crud = true, .fields = book_fields, .field_count = 13},
    /* a read model without crud: no functions, but its documents embed the books' tags */
    {.name = "Tag", .entity = true, .entity_name = "tag", .source_schema = "lib", .source_table = "tb_tag",
     .fields = tag_fields, .field_count = 4},
    {.name = "BookCard", .source_schema = "lib", .source_table = "tb_book", .fields = book_card_fields,
     .field_count = 2},
};

static const decl_model model = {.path = "library.graphql", .types = types, .type_count = 5};

static decl_column author_columns[] = {
    {S("id"), S("bigint"), true, true, false},
    {S("name"), S("text"), true, false, false},
    {S("email"), S("text"), false, false, false},
};
static char *author_email_columns[] = {S("email"), NULL};
static decl_unique author_uniques[] = {{S("tb_author_email_key"), author_email_columns}};

static decl_column book_columns[] = {
    {S("id"), S("uuid"), true, true, false},
    {S("title"), S("text"), true, false, false},
    {S("isbn"), S("character varying(13)"), true, false, false},
    {S("pages"), S("integer"), false, false, false},
    {S("price"), S("numeric(8,2)"), false, false, false},
    {S("author_id"), S("bigint"), true, false, false},
    {S("published_on"), S("date"), false, false, false},
    {S("created_at"), S("timestamp with time zone"), true, true, false},
    {S("meta"), S("jsonb"), false, false, false},
    {S("title_length"), S("integer"), false, true, false}, /* GENERATED ALWAYS AS (length(title)) STORED */
    {S("chapter_pages"), S("integer[]"), false, false, false},
};
static char *book_isbn_columns[] = {S("isbn"), NULL};
static char *book_title_author_columns[] = {S("title"), S("author_id"), NULL};
static decl_unique book_uniques[] = {
    {S("tb_book_isbn_key"), book_isbn_columns},
    {S("tb_book_title_author_id_key"), book_title_author_columns},
};
static decl_foreign_key book_foreign_keys[] = {
    {S("tb_book_author_id_fkey"), S("author_id"), S("lib"), S("tb_author"), S("id")},
};
static decl_check_constraint book_checks[] = {
    {S("tb_book_pages_check"), S("CHECK ((pages > 0))")},
    {S("tb_book_price_check"), S("CHECK ((price >= (0)::numeric))")},
};

static decl_column tag_columns[] = {
    {S("id"), S("text"), true, false, false},
    {S("label"), S("text"), true, false, false},
};

static decl_column book_tag_columns[] = {
    {S("book_id"), S("uuid"), true, false, false},
    {S("tag_id"), S("text"), true, false, false},
};
static decl_foreign_key book_tag_foreign_keys[] = {
    {S("tb_book_tag_book_id_fkey"), S("book_id"), S("lib"), S("tb_book"), S("id")},
    {S("tb_book_tag_tag_id_fkey"), S("tag_id"), S("lib"), S("tb_tag"), S("id")},
};

static decl_table tables[] = {
    {.schema = S("lib"), .name = S("tb_author"), .columns = author_columns, .column_count = 3, .key = S("id"),
     .key_type = S("bigint"), .uniques = author_uniques, .unique_count = 1},
    {.schema = S("lib"), .name = S("tb_book"), .columns = book_columns, .column_count = 11, .key = S("id"),
     .key_type = S("uuid"), .foreign_keys = book_foreign_keys, .foreign_key_count = 1, .uniques = book_uniques,
     .unique_count = 2, .checks = book_checks, .check_count = 2},
    {.schema = S("lib"), .name = S("tb_tag"), .columns = tag_columns, .column_count = 2, .key = S("id"),
     .key_type = S("text")},
    {.schema = S("lib"), .name = S("tb_book_tag"), .columns = book_tag_columns, .column_count = 2,
     .foreign_keys = book_tag_foreign_keys, .foreign_key_count = 2},
};

static const decl_catalog catalog = {.tables = tables, .table_count = 4};


static const char *object_sql(const decl_objects *objects, const char *key)
{
    for (size_t i = 0; i < objects->count; i++)
        if (strcmp(objects->items[i].key, key) == 0)
            return objects->items[i].sql;
    return NULL;
}

START_TEST(test_crud_entities_get_create_update_delete_and_link_functions)
{
    static const char *const expected[] = {
        "crud lib.create_author", "crud lib.update_author", "crud lib.delete_author",
        "crud lib.create_book",   "crud lib.update_book",   "crud lib.delete_book",
        "crud lib.link_book_tags", "crud lib.unlink_book_tags",
    };
    decl_objects objects = {0};
    decl_sql_crud(&model, &catalog, &objects);
    ck_assert_uint_eq(objects.count, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < objects.count; i++) {
        ck_assert_str_eq(objects.items[i].key, expected[i]);
        ck_assert_ptr_null(objects.items[i].rebuild);
        ck_assert_ptr_nonnull(strstr(objects.items[i].sql, "CREATE OR REPLACE FUNCTION"));
        ck_assert_ptr_nonnull(strstr(objects.items[i].sql, "TO tvsync_app;"));
    }
    decl_objects_free(&objects);
}
END_TEST

START_TEST(test_constraints_are_mapped_to_the_fields_that_write_them)
{
    decl_objects objects = {0};
    decl_sql_crud(&model, &catalog, &objects);
    const char *create = object_sql(&objects, "crud lib.create_book");
    ck_assert_ptr_nonnull(create);
    ck_assert_ptr_nonnull(strstr(create, "THEN 'input.title is required' END"));
    ck_assert_ptr_nonnull(strstr(create, "THEN 'input.authorId is required' END"));
    ck_assert_ptr_null(strstr(create, "THEN 'input.createdAt is required' END")); /* it has a default */
    ck_assert_ptr_nonnull(strstr(create, "WHEN 'tb_book_author_id_fkey' THEN format('input.authorId %s: no such author'"));
    ck_assert_ptr_nonnull(strstr(create, "WHEN 'tb_book_isbn_key' THEN 'input.isbn: another book has this value'"));
    ck_assert_ptr_nonnull(strstr(create, "'input.title, input.authorId: another book has these values'"));
    ck_assert_ptr_nonnull(strstr(create, "WHEN 'tb_book_pages_check' THEN 'input.pages violates check tb_book_pages_check'"));
    ck_assert_ptr_nonnull(strstr(create, "c_isbn lib.tb_book.isbn%TYPE;"));
    const char *update = object_sql(&objects, "crud lib.update_book");
    ck_assert_ptr_nonnull(strstr(update, "'patch.title must not be null'"));
    ck_assert_ptr_nonnull(strstr(update, "title = CASE WHEN v_patch ? 'title' THEN c_title ELSE r.title END"));
    /* columns with a default (a generated one among them) only in a statement of their own */
    ck_assert_ptr_nonnull(strstr(update, "IF v_found AND v_patch ? 'titleLength' THEN\n"
                                         "            UPDATE lib.tb_book AS r SET title_length = c_title_length WHERE r.id = v_id;"));
    ck_assert_ptr_nonnull(strstr(update, "WHEN 'title_length' THEN 'patch.titleLength cannot be written: its column is generated'"));
    decl_objects_free(&objects);
}
END_TEST

START_TEST(test_link_publishes_every_entity_embedding_the_association_row)
{
    decl_objects objects = {0};
    decl_sql_crud(&model, &catalog, &objects);
    const char *link = object_sql(&objects, "crud lib.link_book_tags");
    ck_assert_ptr_nonnull(link);
    ck_assert_ptr_nonnull(strstr(link, "tvsync.intent('book', ARRAY[v_id]),\n            tvsync.intent('tag', ARRAY[v_target])"));
    ck_assert_ptr_nonnull(strstr(link, "v_target text := tvsync.text_arg(args, 'targetId')"));
    ck_assert_ptr_nonnull(strstr(link, "format('targetId %s: no such tag', v_target)"));
    decl_objects_free(&objects);
}
END_TEST

START_TEST(test_identifiers_are_quoted_where_postgresql_needs_it)
{
    static decl_field fields[] = {
        {.name = "id", .kind = DECL_FIELD_COLUMN, .graphql_type = "ID", .non_null = true, .column = "id"},
        {.name = "order", .kind = DECL_FIELD_COLUMN, .graphql_type = "Int", .column = "order"},
        {.name = "label", .kind = DECL_FIELD_COLUMN, .graphql_type = "String", .column = "Label"},
    };
    static decl_type type = {.name = "Step", .entity = true, .entity_name = "step", .source_schema = "public",
                             .source_table = "tb_step", .crud = true, .fields = fields, .field_count = 3};
    static decl_column columns[] = {
        {S("id"), S("integer"), true, false, false},
        {S("order"), S("integer"), false, false, false},
        {S("Label"), S("text"), false, false, false},
    };
    static decl_table table = {.schema = S("public"), .name = S("tb_step"), .columns = columns, .column_count = 3,
                               .key = S("id"), .key_type = S("integer")};
    const decl_model step_model = {.path = "steps.graphql", .types = &type, .type_count = 1};
    const decl_catalog step_catalog = {.tables = &table, .table_count = 1};
    decl_objects objects = {0};
    decl_sql_crud(&step_model, &step_catalog, &objects);
    const char *create = object_sql(&objects, "crud public.create_step");
    ck_assert_ptr_nonnull(create);
    ck_assert_ptr_nonnull(strstr(create, "INSERT INTO public.tb_step (id, \"order\", \"Label\") VALUES (v_id, c_1, c_2)"));
    ck_assert_ptr_null(strstr(create, "DO $tvsync$")); /* no default, no sequence */
    decl_objects_free(&objects);
}
END_TEST

START_TEST(test_types_without_crud_and_missing_tables_get_nothing)
{
    decl_type plain = types[2];
    plain.crud = false;
    decl_type missing = types[2];
    missing.source_table = "tb_gone";
    decl_type two[] = {plain, missing};
    const decl_model other = {.path = "x.graphql", .types = two, .type_count = 2};
    decl_objects objects = {0};
    decl_sql_crud(&other, &catalog, &objects);
    ck_assert_uint_eq(objects.count, 0);
    decl_objects_free(&objects);
}
END_TEST

START_TEST(test_link_functions_are_named_after_the_field_in_snake_case)
{
    decl_type tag_crud[5];
    memcpy(tag_crud, types, sizeof types);
    tag_crud[0].crud = tag_crud[2].crud = false;
    tag_crud[3].crud = true;
    const decl_model tag_model = {.path = "tags.graphql", .types = tag_crud, .type_count = 5};
    decl_objects objects = {0};
    decl_sql_crud(&tag_model, &catalog, &objects);
    ck_assert_uint_eq(objects.count, 5);
    ck_assert_str_eq(objects.items[3].key, "crud lib.link_tag_related_books");
    ck_assert_str_eq(objects.items[4].key, "crud lib.unlink_tag_related_books");
    const char *link = objects.items[3].sql;
    /* the tag's own intent from the row's tag_id, the books' from its book_id */
    ck_assert_ptr_nonnull(strstr(link, "INSERT INTO lib.tb_book_tag AS r (tag_id, book_id)"));
    ck_assert_ptr_nonnull(strstr(link, "tvsync.intent('book', ARRAY[v_target]),\n            tvsync.intent('tag', ARRAY[v_id])"));
    ck_assert_ptr_nonnull(strstr(link, "-- linkTagRelatedBooks(id, targetId)"));
    decl_objects_free(&objects);
}
END_TEST

/* The integration test's model: tags get their functions too (a text key without default). */
static int write_sql(const char *path)
{
    decl_type all_crud[5];
    memcpy(all_crud, types, sizeof types);
    all_crud[3].crud = true;
    const decl_model crud_model = {.path = model.path, .types = all_crud, .type_count = 5};
    decl_objects objects = {0};
    decl_sql_crud(&crud_model, &catalog, &objects);
    FILE *file = fopen(path, "w");
    if (!file) {
        perror(path);
        return 1;
    }
    for (size_t i = 0; i < objects.count; i++)
        fprintf(file, "-- %s\n%s\n", objects.items[i].key, objects.items[i].sql);
    decl_objects_free(&objects);
    return fclose(file) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-sql") == 0)
        return write_sql(argv[2]);
    Suite *suite = suite_create("decl_crud");
    TCase *tc = tcase_create("decl_crud");
    tcase_add_test(tc, test_crud_entities_get_create_update_delete_and_link_functions);
    tcase_add_test(tc, test_constraints_are_mapped_to_the_fields_that_write_them);
    tcase_add_test(tc, test_link_publishes_every_entity_embedding_the_association_row);
    tcase_add_test(tc, test_link_functions_are_named_after_the_field_in_snake_case);
    tcase_add_test(tc, test_identifiers_are_quoted_where_postgresql_needs_it);
    tcase_add_test(tc, test_types_without_crud_and_missing_tables_get_nothing);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
