/* generate: tvsync-migrate generate: SDL declarations -> model -> catalog checks -> SQL
 * objects -> the next migration of a set, holding only what changed since the last one. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/strbuf.h"
#include "declare/decl_catalog.h"
#include "declare/decl_model.h"
#include "declare/decl_sql.h"
#include "migrations/generate.h"
#include "migrations/migration_set.h"
#include "server/graphql/gql_parser.h"

#define MARKER_OBJECT "-- tvsync:object "
#define MARKER_DROPPED "-- tvsync:dropped "

/* What earlier generated files of the set say: each object's last checksum. */
typedef struct marker {
    char *key;
    char sha256[65];
    bool dropped;
} marker;

typedef struct marker_list {
    marker *items;
    size_t count;
} marker_list;

static marker *marker_find(marker_list *list, const char *key)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].key, key) == 0)
            return &list->items[i];
    return NULL;
}

static void marker_set(marker_list *list, const char *key, size_t key_length, const char *sha256, bool dropped)
{
    char *copy = alloc_check(strndup(key, key_length));
    marker *m = marker_find(list, copy);
    if (m) {
        free(copy);
    } else {
        list->items = alloc_array(list->items, list->count + 1, sizeof *list->items);
        m = &list->items[list->count++];
        m->key = copy;
    }
    snprintf(m->sha256, sizeof m->sha256, "%s", sha256 ? sha256 : "");
    m->dropped = dropped;
}

/* Marker lines in file order; later files override earlier ones. */
static void markers_read(const migration_set *set, marker_list *list)
{
    for (size_t f = 0; f < set->count; f++) {
        for (const char *line = set->files[f].text; line && *line;) {
            const char *end = strchr(line, '\n');
            size_t length = end ? (size_t) (end - line) : strlen(line);
            if (length > strlen(MARKER_OBJECT) + 65 && strncmp(line, MARKER_OBJECT, strlen(MARKER_OBJECT)) == 0) {
                const char *key = line + strlen(MARKER_OBJECT);
                const char *sha = line + length - 64;
                char digest[65];
                memcpy(digest, sha, 64);
                digest[64] = '\0';
                marker_set(list, key, (size_t) (sha - 1 - key), digest, false);
            } else if (length > strlen(MARKER_DROPPED) && strncmp(line, MARKER_DROPPED, strlen(MARKER_DROPPED)) == 0) {
                const char *key = line + strlen(MARKER_DROPPED);
                marker_set(list, key, length - strlen(MARKER_DROPPED), NULL, true);
            }
            line = end ? end + 1 : NULL;
        }
    }
}

static void markers_free(marker_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].key);
    free(list->items);
}

/* The checksums, computed by the server as tvsync-migrate's ledger computes its files'. */
static bool checksums(PGconn *conn, const decl_objects *objects, char (*out)[65])
{
    if (objects->count == 0)
        return true;
    strbuf array = STRBUF_INIT;
    strbuf_append_char(&array, '{');
    for (size_t i = 0; i < objects->count; i++) {
        strbuf_append(&array, i ? ",\"" : "\"");
        for (const char *p = objects->items[i].sql; *p; p++) {
            if (*p == '"' || *p == '\\')
                strbuf_append_char(&array, '\\');
            strbuf_append_char(&array, *p);
        }
        strbuf_append_char(&array, '"');
    }
    strbuf_append_char(&array, '}');
    const char *values[1] = {array.data};
    PGresult *result = PQexecParams(conn,
                                    "SELECT encode(sha256(convert_to(u.x, 'UTF8')), 'hex')"
                                    " FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) ORDER BY u.n",
                                    1, NULL, values, NULL, NULL, 0);
    strbuf_free(&array);
    bool ok = PQresultStatus(result) == PGRES_TUPLES_OK && (size_t) PQntuples(result) == objects->count;
    if (!ok)
        log_error("computing the objects' checksums: %s", PQresultErrorMessage(result));
    for (size_t i = 0; ok && i < objects->count; i++)
        snprintf(out[i], 65, "%s", PQgetvalue(result, (int) i, 0));
    PQclear(result);
    return ok;
}

/* The next version of the set, as wide as its widest version (3 digits in an empty set). */
static char *next_version(const migration_set *set)
{
    unsigned long long highest = 0;
    int width = 3;
    for (size_t i = 0; i < set->count; i++) {
        unsigned long long v = strtoull(set->files[i].version, NULL, 10);
        if (v > highest)
            highest = v;
        if ((int) strlen(set->files[i].version) > width)
            width = (int) strlen(set->files[i].version);
    }
    strbuf version = STRBUF_INIT;
    strbuf_appendf(&version, "%0*llu", width, highest + 1);
    return version.data;
}

/* What to drop by hand for an object the SDL no longer declares (cascades are deleted, patch
 * functions unregistered). */
static void write_dropped(strbuf *out, const char *key)
{
    strbuf_appendf(out, MARKER_DROPPED "%s\n", key);
    char a[256], b[256];
    if (sscanf(key, "cascade %255s %255s", a, b) == 2)
        strbuf_appendf(out, "DELETE FROM tvsync.cascade WHERE source_entity = '%s' AND target_entity = '%s';\n", a, b);
    else if (sscanf(key, "patch %255s %255s", a, b) == 2)
        strbuf_appendf(out, "UPDATE tvsync.cascade SET patch_function = NULL WHERE source_entity = '%s' AND target_entity = '%s';\n",
                       a, b);
    else if (sscanf(key, "entity %255s", a) == 1)
        strbuf_appendf(out, "-- entity %s is no longer declared; when nothing reads it, drop it by hand:\n"
                            "--   DELETE FROM tvsync.entity WHERE name = '%s';  (then its tv_ table and build function)\n",
                       a, a);
    else
        strbuf_appendf(out, "-- %s is no longer declared; drop it by hand when nothing uses it\n", key);
}

static bool write_file(const char *path, const strbuf *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        log_error("cannot create %s: %s", path, strerror(errno));
        return false;
    }
    size_t done = 0;
    while (done < text->length) {
        ssize_t n = write(fd, text->data + done, text->length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_error("cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return false;
        }
        done += (size_t) n;
    }
    if (close(fd) != 0) {
        log_error("cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return false;
    }
    return true;
}

/* The migration text; false when nothing changed. */
static bool compose(const char *schema_path, const char *filename, const decl_objects *objects,
                    char (*sha)[65], marker_list *previous, strbuf *out)
{
    strbuf body = STRBUF_INIT, rebuilds = STRBUF_INIT, dropped = STRBUF_INIT;
    size_t written = 0;
    for (size_t i = 0; i < objects->count; i++) {
        const decl_object *o = &objects->items[i];
        const marker *m = marker_find(previous, o->key);
        if (m && !m->dropped && strcmp(m->sha256, sha[i]) == 0)
            continue;
        strbuf_appendf(&body, "\n" MARKER_OBJECT "%s %s\n%s", o->key, sha[i], o->sql);
        written++;
        /* Also in a first migration: on a database whose slot exists, the documents were
         * built by another function or not at all (without a slot the request is no-op WAL;
         * tvsync-slot create builds everything). */
        if (o->rebuild)
            strbuf_appendf(&rebuilds, "SELECT tvsync.request_rebuild('%s');\n", o->rebuild);
    }
    for (size_t i = 0; i < previous->count; i++) {
        if (previous->items[i].dropped)
            continue;
        bool kept = false;
        for (size_t k = 0; !kept && k < objects->count; k++)
            kept = strcmp(objects->items[k].key, previous->items[i].key) == 0;
        if (!kept) {
            write_dropped(&dropped, previous->items[i].key);
            written++;
        }
    }
    if (written > 0) {
        char version[64];
        snprintf(version, sizeof version, "%.*s", (int) strcspn(filename, "."), filename);
        strbuf_appendf(out,
                       "-- %s: read models generated from %s by tvsync-migrate generate.\n"
                       "-- Change the declarations and run generate again rather than editing this file.\n"
                       "-- Each object's marker line (its key and the sha256 of its SQL) tells the next run what changed.\n",
                       version, schema_path);
        strbuf_append(out, body.data ? body.data : "");
        if (rebuilds.length)
            strbuf_appendf(out, "\n-- documents whose build function is new or changed are built (again)\n%s", rebuilds.data);
        if (dropped.length)
            strbuf_appendf(out, "\n-- no longer declared\n%s", dropped.data);
    }
    strbuf_free(&body);
    strbuf_free(&rebuilds);
    strbuf_free(&dropped);
    return written > 0;
}

/* A hand-written function where a CRUD function would go: its name (schema.function), or
 * NULL. CREATE OR REPLACE would silently take its place. */
static char *crud_clash(PGconn *conn, const decl_objects *objects, bool *failed)
{
    strbuf names = STRBUF_INIT;
    strbuf_append(&names, "{");
    for (size_t i = 0; i < objects->count; i++)
        if (strncmp(objects->items[i].key, "crud ", 5) == 0)
            strbuf_appendf(&names, "%s\"%s\"", names.length > 1 ? "," : "", objects->items[i].key + 5);
    strbuf_append(&names, "}");
    const char *params[] = {names.data, DECL_CRUD_COMMENT};
    PGresult *result = pg_query_logged(conn,
                                       "SELECT n.nspname || '.' || p.proname FROM pg_proc p "
                                       "JOIN pg_namespace n ON n.oid = p.pronamespace "
                                       "WHERE n.nspname || '.' || p.proname = ANY ($1::text[]) "
                                       "AND p.proargtypes = '3802'::oidvector "
                                       "AND coalesce(obj_description(p.oid, 'pg_proc'), '') <> $2 "
                                       "ORDER BY 1 LIMIT 1",
                                       2, params, "checking for hand-written functions of the CRUD names");
    strbuf_free(&names);
    char *clash = NULL;
    if (result == NULL)
        *failed = true;
    else if (PQntuples(result) > 0)
        clash = alloc_strdup(PQgetvalue(result, 0, 0));
    PQclear(result);
    return clash;
}

/* The crud type whose function function (schema.name) is. */
static const decl_type *crud_type_of(const decl_model *model, const char *function)
{
    for (size_t i = 0; i < model->type_count; i++) {
        const decl_type *type = &model->types[i];
        size_t schema_length = strlen(type->source_schema);
        if (!type->crud || strncmp(function, type->source_schema, schema_length) != 0 || function[schema_length] != '.')
            continue;
        const char *name = function + schema_length + 1;
        const char *prefixes[] = {"create_", "update_", "delete_", "link_", "unlink_"};
        for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++) {
            size_t n = strlen(prefixes[p]), e = strlen(type->entity_name);
            if (strncmp(name, prefixes[p], n) == 0 && strncmp(name + n, type->entity_name, e) == 0 &&
                (name[n + e] == '\0' || (p >= 3 && name[n + e] == '_')))
                return type;
        }
    }
    return NULL;
}

static int generate_objects(PGconn *conn, const char *schema_path, const char *dir, const decl_objects *objects)
{
    char error[1024];
    char *name = migration_set_name_of(dir, error, sizeof error);
    migration_set set = {0};
    if (!name || !migration_set_load(dir, name, &set, error, sizeof error)) {
        log_error("%s", error);
        free(name);
        return TVSYNC_EXIT_FAILURE;
    }
    free(name);
    marker_list previous = {0};
    markers_read(&set, &previous);
    char (*sha)[65] = alloc_calloc(objects->count + 1, sizeof *sha);
    int status = TVSYNC_EXIT_DATABASE;
    if (checksums(conn, objects, sha)) {
        char *version = next_version(&set);
        strbuf filename = STRBUF_INIT, path = STRBUF_INIT, text = STRBUF_INIT;
        strbuf_appendf(&filename, "%s_generated.sql", version);
        strbuf_appendf(&path, "%s/%s", dir, filename.data);
        if (!compose(schema_path, filename.data, objects, sha, &previous, &text)) {
            printf("nothing changed\n");
            status = TVSYNC_EXIT_OK;
        } else if (write_file(path.data, &text)) {
            printf("wrote %s\n", path.data);
            status = TVSYNC_EXIT_OK;
        } else {
            status = TVSYNC_EXIT_FAILURE;
        }
        free(version);
        strbuf_free(&filename);
        strbuf_free(&path);
        strbuf_free(&text);
    }
    free(sha);
    markers_free(&previous);
    migration_set_free(&set);
    return status;
}

int generate_run(PGconn *conn, const char *schema_path, const char *dir)
{
    char *source = NULL;
    size_t length = 0;
    char error[2048];
    if (!migration_set_read_file(schema_path, &source, &length, error, sizeof error)) {
        log_error("%s", error);
        return TVSYNC_EXIT_FAILURE;
    }
    gql_arena arena;
    gql_arena_init(&arena);
    int status = TVSYNC_EXIT_FAILURE;
    gql_parse_error parse_error;
    decl_catalog *catalog = NULL;
    decl_model *model = NULL;
    /* A schema file, not a request: the request limits do not apply (as tvsync-server). */
    gql_limits schema_limits = {SIZE_MAX / 4, SIZE_MAX / 4, 512};
    ast_document *doc = gql_parse(&arena, source, length, &schema_limits, &parse_error);
    if (!doc) {
        gql_location at = gql_source_location(source, length, parse_error.pos);
        fprintf(stderr, "%s:%u: %s\n", schema_path, parse_error.has_pos ? at.line : 1, parse_error.message);
    } else if (!(model = decl_model_read(&arena, doc, schema_path, error, sizeof error))) {
        fprintf(stderr, "%s\n", error);
    } else if (model->type_count == 0) {
        fprintf(stderr, "%s:1: no type has @entity or @embedded (declare a read model: type X @entity(source: \"tb_x\"))\n",
                schema_path);
    } else if (!(catalog = decl_catalog_load(conn, model, error, sizeof error))) {
        log_error("%s", error);
        status = TVSYNC_EXIT_DATABASE;
    } else if (!decl_catalog_check(model, catalog, error, sizeof error)) {
        fprintf(stderr, "%s\n", error);
    } else {
        decl_objects objects = {0};
        decl_sql_read_models(model, catalog, &objects);
        decl_sql_crud(model, catalog, &objects);
        bool failed = false;
        char *clash = crud_clash(conn, &objects, &failed);
        const decl_type *owner = clash ? crud_type_of(model, clash) : NULL;
        if (failed) {
            status = TVSYNC_EXIT_DATABASE;
        } else if (clash) {
            fprintf(stderr,
                    "%s:%u: %s: crud: true would replace the hand-written function %s(jsonb) (leave crud off this "
                    "type, or rename or drop that function)\n",
                    schema_path, owner ? owner->line : 1, owner ? owner->name : "a type", clash);
        } else {
            status = generate_objects(conn, schema_path, dir, &objects);
        }
        free(clash);
        decl_objects_free(&objects);
    }
    decl_catalog_free(catalog);
    gql_arena_free(&arena);
    free(source);
    return status;
}
