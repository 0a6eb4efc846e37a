/* sql_script: splits a SQL file into its statements and maps error positions to lines.
 * A small lexer that knows just enough of PostgreSQL's syntax to find statement ends. */
#include "config.h"

#include "migrations/sql_script.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

#define NO_START ((size_t) -1)

typedef struct splitter {
    const char *text;
    size_t length;
    int line;                  /* line of the current position */
    size_t start;              /* offset of the current statement's first token, or NO_START */
    int start_line;
    int word_count;            /* words seen in the current statement */
    bool create;               /* the statement starts with CREATE */
    bool routine;              /* ... [OR REPLACE] FUNCTION | PROCEDURE */
    bool transaction_control;
    int atomic_depth;          /* BEGIN ATOMIC nesting: semicolons inside do not split */
    sql_statement *items;
    size_t count, capacity;
} splitter;

static bool is_identifier_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool is_identifier_char(unsigned char c)
{
    return is_identifier_start(c) || isdigit(c) || c == '$';
}

static bool word_is(const char *word, size_t length, const char *keyword)
{
    return strlen(keyword) == length && strncasecmp(word, keyword, length) == 0;
}

static void count_lines(splitter *s, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < s->length; i++)
        if (s->text[i] == '\n')
            s->line++;
}

static void finish_statement(splitter *s, size_t end)
{
    if (s->start != NO_START) {
        if (s->count == s->capacity) {
            s->capacity = s->capacity ? s->capacity * 2 : 16;
            s->items = alloc_array(s->items, s->capacity, sizeof *s->items);
        }
        s->items[s->count++] = (sql_statement){
            .offset = s->start,
            .length = end - s->start,
            .line = s->start_line,
            .transaction_control = s->transaction_control,
        };
    }
    s->start = NO_START;
    s->word_count = 0;
    s->create = s->routine = s->transaction_control = false;
    s->atomic_depth = 0;
}

/* The length of the dollar-quote opener at text[i] ("$$" or "$tag$"), 0 when it is
 * not one ($1 is a parameter, not a quote). */
static size_t dollar_tag_length(const splitter *s, size_t i)
{
    size_t j = i + 1;
    if (j < s->length && s->text[j] == '$')
        return 2;
    if (j >= s->length || !is_identifier_start((unsigned char) s->text[j]))
        return 0;
    while (j < s->length && (is_identifier_start((unsigned char) s->text[j]) ||
                             isdigit((unsigned char) s->text[j])))
        j++;
    return j < s->length && s->text[j] == '$' ? j - i + 1 : 0;
}

/* Skips a quoted run starting at text[i] (the opening quote); returns the offset of
 * the closing quote, or length when unterminated. Doubled quotes stay inside. */
static size_t skip_quoted(splitter *s, size_t i, char quote, bool backslash_escapes)
{
    size_t j = i + 1;
    while (j < s->length) {
        char c = s->text[j];
        if (backslash_escapes && c == '\\' && j + 1 < s->length) {
            count_lines(s, j + 1, j + 2);
            j += 2;
            continue;
        }
        if (c == quote) {
            if (j + 1 < s->length && s->text[j + 1] == quote) {
                j += 2;
                continue;
            }
            return j;
        }
        if (c == '\n')
            s->line++;
        j++;
    }
    return s->length;
}

/* Skips a nested block comment starting at text[i]; returns the offset just past it. */
static size_t skip_block_comment(splitter *s, size_t i)
{
    int depth = 0;
    size_t j = i;
    while (j < s->length) {
        if (s->text[j] == '/' && j + 1 < s->length && s->text[j + 1] == '*') {
            depth++;
            j += 2;
        } else if (s->text[j] == '*' && j + 1 < s->length && s->text[j + 1] == '/') {
            j += 2;
            if (--depth == 0)
                return j;
        } else {
            if (s->text[j] == '\n')
                s->line++;
            j++;
        }
    }
    return s->length;
}

/* Notes the statement's leading words: transaction control, and CREATE FUNCTION or
 * PROCEDURE, whose BEGIN ATOMIC body holds semicolons (psql tracks the same). */
static void note_word(splitter *s, const char *word, size_t length)
{
    s->word_count++;
    if (s->word_count == 1) {
        s->create = word_is(word, length, "create");
        s->transaction_control = word_is(word, length, "begin") || word_is(word, length, "start") ||
                                 word_is(word, length, "commit") || word_is(word, length, "end") ||
                                 word_is(word, length, "rollback") || word_is(word, length, "abort");
        return;
    }
    if (s->create && s->word_count <= 4 &&
        (word_is(word, length, "function") || word_is(word, length, "procedure")))
        s->routine = true;
    if (!s->routine)
        return;
    if (word_is(word, length, "begin"))
        s->atomic_depth++;
    else if (s->atomic_depth > 0 && word_is(word, length, "case"))
        s->atomic_depth++;
    else if (s->atomic_depth > 0 && word_is(word, length, "end"))
        s->atomic_depth--;
}

void sql_script_split(const char *text, size_t length, sql_statement **statements, size_t *count)
{
    splitter s = {.text = text, .length = length, .line = 1, .start = NO_START};
    size_t i = 0;
    while (i < length) {
        unsigned char c = (unsigned char) text[i];
        if (c == '\n') {
            s.line++;
            i++;
            continue;
        }
        if (isspace(c)) {
            i++;
            continue;
        }
        if (c == '-' && i + 1 < length && text[i + 1] == '-') {
            while (i < length && text[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && i + 1 < length && text[i + 1] == '*') {
            i = skip_block_comment(&s, i);
            continue;
        }
        if (c == ';' && s.atomic_depth == 0) {
            finish_statement(&s, i);
            i++;
            continue;
        }
        if (s.start == NO_START) {
            s.start = i;
            s.start_line = s.line;
        }
        if (c == '\'') {
            /* E'...' strings take backslash escapes; standard strings do not. */
            bool escapes = i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e') &&
                           (i < 2 || !is_identifier_char((unsigned char) text[i - 2]));
            i = skip_quoted(&s, i, '\'', escapes) + 1;
            continue;
        }
        if (c == '"') {
            i = skip_quoted(&s, i, '"', false) + 1;
            continue;
        }
        if (c == '$' && (i == 0 || !is_identifier_char((unsigned char) text[i - 1]))) {
            size_t tag = dollar_tag_length(&s, i);
            if (tag > 0) {
                size_t j = i + tag;
                while (j + tag <= length && memcmp(text + j, text + i, tag) != 0)
                    j++;
                if (j + tag > length)
                    j = length;
                count_lines(&s, i + tag, j);
                i = j + tag;
                continue;
            }
        }
        if (is_identifier_start(c)) {
            size_t j = i;
            while (j < length && is_identifier_char((unsigned char) text[j]))
                j++;
            note_word(&s, text + i, j - i);
            i = j;
            continue;
        }
        i++;
    }
    finish_statement(&s, length);
    *statements = s.items;
    *count = s.count;
}

int sql_script_line_at(const char *text, const sql_statement *statement, long position)
{
    int line = statement->line;
    if (position < 1)
        return line;
    long characters = 0;
    for (size_t i = statement->offset; i < statement->offset + statement->length; i++) {
        unsigned char c = (unsigned char) text[i];
        /* UTF-8 continuation bytes do not start a character. */
        if ((c & 0xC0) != 0x80) {
            characters++;
            if (characters >= position)
                return line;
        }
        if (c == '\n')
            line++;
    }
    return statement->line;
}

int sql_script_body_line(const char *text, const sql_statement *statement)
{
    int line = statement->line;
    for (size_t i = statement->offset; i < statement->offset + statement->length; i++) {
        if (text[i] == '$' || text[i] == '\'')
            return line;
        if (text[i] == '\n')
            line++;
    }
    return statement->line;
}
