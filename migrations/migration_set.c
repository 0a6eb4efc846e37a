/* migration_set: one set's migration files, read from its directory and sorted by name.
 * Pure file handling; the database side lives in migration_ledger.c and tvsync_migrate.c. */
#include "config.h"

#include "migrations/migration_set.h"

#include "common/alloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *xstrndup(const char *text, size_t length)
{
    char *copy = alloc_malloc(length + 1);
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

bool migration_set_is_migration_name(const char *name)
{
    size_t digits = 0;
    while (isdigit((unsigned char) name[digits]))
        digits++;
    size_t length = strlen(name);
    return digits > 0 && name[digits] == '_' && length > digits + 1 + 4 &&
           strcmp(name + length - 4, ".sql") == 0;
}

bool migration_set_read_file(const char *path, char **text, size_t *length, char *error, size_t error_size)
{
    *text = NULL;
    *length = 0;
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(error, error_size, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    size_t capacity = 8192, used = 0;
    char *buffer = alloc_realloc(NULL, capacity);
    size_t got;
    while ((got = fread(buffer + used, 1, capacity - used - 1, file)) > 0) {
        used += got;
        if (capacity - used - 1 == 0) {
            capacity *= 2;
            buffer = alloc_realloc(buffer, capacity);
        }
    }
    bool failed = ferror(file);
    int saved_errno = errno;
    fclose(file);
    if (failed) {
        snprintf(error, error_size, "cannot read %s: %s", path, strerror(saved_errno));
        free(buffer);
        return false;
    }
    buffer[used] = '\0';
    /* libpq sends C strings: a NUL would silently cut the script short. */
    if (memchr(buffer, '\0', used)) {
        snprintf(error, error_size, "%s holds a NUL byte; SQL files must be text", path);
        free(buffer);
        return false;
    }
    *text = buffer;
    *length = used;
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const migration_file *) a)->filename, ((const migration_file *) b)->filename);
}

char *migration_set_name_of(const char *dir, char *error, size_t error_size)
{
    char *real = realpath(dir, NULL);
    if (!real) {
        snprintf(error, error_size, "migrations directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    struct stat info;
    if (stat(real, &info) != 0 || !S_ISDIR(info.st_mode)) {
        snprintf(error, error_size, "migrations directory %s: not a directory", dir);
        free(real);
        return NULL;
    }
    const char *slash = strrchr(real, '/');
    char *name = alloc_strdup(slash && slash[1] ? slash + 1 : real);
    free(real);
    return name;
}

size_t migration_set_dir_list_parse(const char *text, char ***dirs)
{
    *dirs = NULL;
    size_t count = 0;
    const char *item = text ? text : "";
    while (*item) {
        size_t length = strcspn(item, ",");
        const char *start = item, *end = item + length;
        while (start < end && isspace((unsigned char) *start))
            start++;
        while (end > start && isspace((unsigned char) end[-1]))
            end--;
        if (end > start) {
            *dirs = alloc_array(*dirs, count + 1, sizeof **dirs);
            (*dirs)[count++] = xstrndup(start, (size_t) (end - start));
        }
        item += length + (item[length] == ',');
    }
    return count;
}

void migration_set_dir_list_free(char **dirs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(dirs[i]);
    free(dirs);
}

bool migration_set_load(const char *dir, const char *name, migration_set *set, char *error, size_t error_size)
{
    set->files = NULL;
    set->count = 0;
    set->name = NULL;
    set->dir = NULL;
    DIR *handle = opendir(dir);
    if (!handle) {
        snprintf(error, error_size, "cannot open migrations directory %s: %s", dir, strerror(errno));
        return false;
    }
    set->name = alloc_strdup(name);
    set->dir = alloc_strdup(dir);
    size_t capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (!migration_set_is_migration_name(entry->d_name))
            continue;
        if (set->count == capacity) {
            capacity = capacity ? capacity * 2 : 16;
            set->files = alloc_realloc(set->files, capacity * sizeof *set->files);
        }
        migration_file *file = &set->files[set->count++];
        memset(file, 0, sizeof *file);
        file->filename = xstrndup(entry->d_name, strlen(entry->d_name));
        size_t digits = strspn(entry->d_name, "0123456789");
        file->version = xstrndup(entry->d_name, digits);
        size_t path_size = strlen(dir) + strlen(entry->d_name) + 2;
        file->path = alloc_realloc(NULL, path_size);
        snprintf(file->path, path_size, "%s/%s", dir, entry->d_name);
    }
    closedir(handle);
    if (set->count > 1)
        qsort(set->files, set->count, sizeof *set->files, compare_names);

    for (size_t i = 0; i < set->count; i++) {
        if (i > 0 && strcmp(set->files[i].version, set->files[i - 1].version) == 0) {
            snprintf(error, error_size, "%s and %s share version %s; give each migration its own number",
                     set->files[i - 1].filename, set->files[i].filename, set->files[i].version);
            migration_set_free(set);
            return false;
        }
        if (!migration_set_read_file(set->files[i].path, &set->files[i].text, &set->files[i].length,
                                     error, error_size)) {
            migration_set_free(set);
            return false;
        }
    }
    return true;
}

const migration_file *migration_set_find(const migration_set *set, const char *version)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->files[i].version, version) == 0)
            return &set->files[i];
    return NULL;
}

void migration_set_free(migration_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->files[i].version);
        free(set->files[i].filename);
        free(set->files[i].path);
        free(set->files[i].text);
    }
    free(set->files);
    free(set->name);
    free(set->dir);
    set->files = NULL;
    set->count = 0;
    set->name = NULL;
    set->dir = NULL;
}
