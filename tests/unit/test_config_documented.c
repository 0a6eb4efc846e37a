/* Every key of the configuration table must be documented: in the example
 * configuration (systemd/tvsync.conf.example) and in tvsync.conf(5). */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

static char *read_source_file(const char *relative)
{
    const char *srcdir = getenv("TVSYNC_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", srcdir ? srcdir : ".", relative);
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot read %s", path);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    char *text = malloc((size_t) size + 1);
    ck_assert_int_eq(fread(text, 1, (size_t) size, file), (size_t) size);
    text[size] = '\0';
    fclose(file);
    return text;
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char) c) || c == '_';
}

/* The first whole-word occurrence of word at or after from, or NULL. */
static const char *find_word(const char *from, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(from, word); p; p = strstr(p + 1, word))
        if ((p == from || !is_word_char(p[-1])) && !is_word_char(p[n]))
            return p;
    return NULL;
}

/* The section's block: from "[section]" to the next line starting with "[". */
static bool example_documents(const char *text, const char *section, const char *name)
{
    char header[64];
    snprintf(header, sizeof header, "[%s]", section);
    const char *start = strstr(text, header);
    if (!start)
        return false;
    const char *end = strstr(start + 1, "\n[");
    for (const char *line = start; line && (!end || line < end); line = strchr(line + 1, '\n')) {
        const char *p = line + (*line == '\n');
        while (*p == '#' || *p == ';' || *p == ' ')
            p++;
        size_t n = strlen(name);
        if (strncmp(p, name, n) == 0) {
            p += n;
            while (*p == ' ')
                p++;
            if (*p == '=')
                return true;
        }
    }
    return false;
}

START_TEST(test_example_config_has_every_key_in_its_section)
{
    char *text = read_source_file("systemd/tvsync.conf.example");
    for (size_t i = 0; i < config_key_count(); i++) {
        const config_key *key = config_key_at(i);
        ck_assert_msg(example_documents(text, key->section, key->name),
                      "systemd/tvsync.conf.example lacks \"%s = ...\" under [%s]", key->name, key->section);
    }
    free(text);
}
END_TEST

START_TEST(test_man_page_has_every_key_after_its_section)
{
    char *text = read_source_file("man/tvsync.conf.5.scd");
    for (size_t i = 0; i < config_key_count(); i++) {
        const config_key *key = config_key_at(i);
        char header[64];
        snprintf(header, sizeof header, "[%s]", key->section);
        const char *section = strstr(text, header);
        ck_assert_msg(section != NULL, "man/tvsync.conf.5.scd never mentions %s", header);
        ck_assert_msg(find_word(section, key->name) != NULL, "man/tvsync.conf.5.scd lacks key %s after %s",
                      key->name, header);
    }
    free(text);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("config_documented");
    TCase *tc = tcase_create("config_documented");
    tcase_add_test(tc, test_example_config_has_every_key_in_its_section);
    tcase_add_test(tc, test_man_page_has_every_key_after_its_section);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
