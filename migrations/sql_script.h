/* sql_script: splits a SQL file into its statements and maps error positions to lines,
 * so tvsync-migrate can name the file and line of a failing statement. */
#ifndef TVSYNC_MIGRATIONS_SQL_SCRIPT_H
#define TVSYNC_MIGRATIONS_SQL_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

/* One statement of a script: text[offset, offset+length) without the terminating
 * semicolon, starting at its first token (leading blanks and comments skipped). */
typedef struct sql_statement {
    size_t offset;
    size_t length;
    int line;               /* 1-based line of the statement's first token */
    bool transaction_control; /* BEGIN, START, COMMIT, END, ROLLBACK, ABORT: not allowed in a migration */
} sql_statement;

/* Splits text at top-level semicolons, the way psql does: semicolons inside quotes,
 * quoted identifiers, dollar quotes, comments (nested block comments too) and
 * BEGIN ATOMIC ... END bodies of CREATE FUNCTION/PROCEDURE do not split.
 * Statements with nothing but blanks and comments are left out.
 * On success *statements (caller frees with free()) holds *count entries; it may be
 * NULL when *count is 0 (out of memory aborts, common/alloc). An unterminated quote
 * or comment ends the last statement (the server reports it). */
void sql_script_split(const char *text, size_t length, sql_statement **statements, size_t *count);

/* The line, within the whole script, of a 1-based character position inside
 * statement (as in PG_DIAG_STATEMENT_POSITION, which counts characters, not bytes;
 * the text is UTF-8). A position outside the statement gives the statement's line. */
int sql_script_line_at(const char *text, const sql_statement *statement, long position);

/* The line of the first string or dollar quote of statement: where the body of a
 * DO block starts, so "inline_code_block line N" in an error's context can be mapped
 * to the file (body line N is file line sql_script_body_line + N - 1). The statement's
 * own line when it has no quote. */
int sql_script_body_line(const char *text, const sql_statement *statement);

#endif
