/* config: the key table and the INI/environment/value parsers.
 * Every configuration key of every binary is declared once, in config_keys[]. */
#include <config.h>

#include "common/alloc.h"
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <strings.h>

extern char **environ;

#define KEY(section, name, type, field, def, lo, hi, text) \
    {section, name, type, offsetof(tvsync_config, field), def, lo, hi, text}
#define MS_PER_HOUR (3600LL * 1000LL)

static const config_key config_keys[] = {
    KEY("database", "url", CONFIG_STRING, database.url, "", 0, 0,
        "libpq connection URI or conninfo string; empty uses libpq's defaults (PGHOST, PGDATABASE, ...)"),
    KEY("database", "connect_timeout", CONFIG_DURATION, database.connect_timeout_ms, "10s", 1000, MS_PER_HOUR,
        "how long one connection attempt may take"),
    KEY("slot", "name", CONFIG_STRING, slot.name, "tvsync", 0, 0,
        "replication slot and replication origin name"),
    KEY("slot", "plugin", CONFIG_OUTPUT_PLUGIN, slot.plugin, "wal2json", 0, 0,
        "logical decoding output plugin of the slot: wal2json, or pgoutput (built into PostgreSQL; uses the publication <slot name>_pub)"),
    KEY("slot", "failover", CONFIG_BOOL, slot.failover, "off", 0, 0,
        "on: tvsync-slot create makes a failover slot, synchronized to standbys (PostgreSQL 17 or later)"),
    KEY("cdc", "batch_max_transactions", CONFIG_INT, cdc.batch_max_transactions, "1000", 1, 1000000,
        "most source transactions applied in one local transaction"),
    KEY("cdc", "batch_max_ids", CONFIG_INT, cdc.batch_max_ids, "10000", 1, 10000000,
        "most (entity, id) pairs held and applied in one local transaction; bounds memory"),
    KEY("cdc", "batch_max_delay_ms", CONFIG_INT, cdc.batch_max_delay_ms, "2", 0, 60000,
        "longest a received intent waits for more to share its batch, in milliseconds"),
    KEY("cdc", "generic_plans", CONFIG_INT, cdc.generic_plans, "1", 0, 1,
        "1: the apply statements are planned once per connection (build functions must plan well for any ids); 0: for every batch"),
    KEY("cdc", "toast_compression", CONFIG_STRING, cdc.toast_compression, "lz4", 0, 0,
        "how tvsync-cdc's writes compress large documents: lz4 (pglz where the server lacks it), pglz, or empty for the server's default_toast_compression"),
    KEY("cdc", "rebuild_chunk_rows", CONFIG_INT, cdc.rebuild_chunk_rows, "5000", 1, 10000000,
        "rows rebuilt per chunk of a full rebuild; live intents wait at most one chunk"),
    KEY("cdc", "max_retries", CONFIG_INT, cdc.max_retries, "3", 0, 100,
        "times a failing batch is retried before it is bisected and its bad ids dead-lettered"),
    KEY("cdc", "status_interval", CONFIG_DURATION, cdc.status_interval_ms, "10s", 100, MS_PER_HOUR,
        "longest time between two status updates to the server"),
    KEY("cdc", "heartbeat_interval", CONFIG_DURATION, cdc.heartbeat_interval_ms, "10s", 100, MS_PER_HOUR,
        "how often a heartbeat message measures the end-to-end lag"),
    KEY("cdc", "reconnect_max_delay", CONFIG_DURATION, cdc.reconnect_max_delay_ms, "30s", 100, MS_PER_HOUR,
        "cap of the exponential backoff between reconnection attempts"),
    KEY("cdc", "health_max_lag_seconds", CONFIG_INT, cdc.health_max_lag_seconds, "30", 1, 86400,
        "/health answers 503 when the apply lag exceeds this many seconds"),
    KEY("cdc", "metrics_listen", CONFIG_LISTEN, cdc.metrics_listen, "127.0.0.1:9188", 0, 0,
        "HOST:PORT serving /metrics and /health"),
    KEY("cdc", "log_level", CONFIG_LOG_LEVEL, cdc.log_level, "info", 0, 0,
        "error, warning, info or debug"),
    KEY("cdc", "patch_min_bytes", CONFIG_SIZE, cdc.patch_min_bytes, "32kB", 0, 1LL << 30,
        "along a cascade with a patch function, documents stored in fewer bytes are built whole (cheaper when small); 0 patches every one"),
    KEY("cdc", "decode_url", CONFIG_STRING, cdc.decode_url, "", 0, 0,
        "a hot standby (PostgreSQL 16 or later) of database.url holding the slot: tvsync-cdc and tvsync-slot decode there, apply on database.url; empty: the slot is on database.url"),
    KEY("server", "listen", CONFIG_LISTEN, server.listen, "127.0.0.1:8080", 0, 0,
        "HOST:PORT serving /graphql, /health and /metrics"),
    KEY("server", "schema", CONFIG_STRING, server.schema, "", 0, 0,
        "GraphQL SDL file mapping types to tv_* tables and mutations to SQL functions; required by tvsync-server"),
    KEY("server", "threads", CONFIG_INT, server.threads, "0", 0, 256,
        "worker threads, each with its own event loop; 0 means one per CPU"),
    KEY("server", "pool_size", CONFIG_INT, server.pool_size, "4", 1, 1000,
        "database connections per worker thread"),
    KEY("server", "max_body_bytes", CONFIG_SIZE, server.max_body_bytes, "1MB", 1024, 1LL << 30,
        "largest request body accepted; larger ones get 413"),
    KEY("server", "max_limit", CONFIG_INT, server.max_limit, "100", 1, 100000,
        "cap on the limit argument of list queries"),
    KEY("server", "max_connections", CONFIG_INT, server.max_connections, "1024", 1, 1000000,
        "most client connections open at once, all worker threads together"),
    KEY("server", "request_timeout_ms", CONFIG_INT, server.request_timeout_ms, "10000", 100, 3600000,
        "a client that takes longer to send its request or read the answer is disconnected"),
    KEY("server", "sync_wait_timeout_ms", CONFIG_INT, server.sync_wait_timeout_ms, "5000", 0, 600000,
        "longest a mutation waits for tvsync-cdc to apply its intents before answering SYNC_TIMEOUT"),
    KEY("server", "statement_timeout", CONFIG_DURATION, server.statement_timeout_ms, "4s", 100, MS_PER_HOUR,
        "PostgreSQL cancels a statement of the server's pool that runs longer (its statement_timeout); keep it below request_deadline"),
    KEY("server", "request_deadline", CONFIG_DURATION, server.request_deadline_ms, "5s", 100, MS_PER_HOUR,
        "a statement unanswered this long after it was submitted fails with DATABASE_TIMEOUT and its connection is reset"),
    KEY("server", "log_level", CONFIG_LOG_LEVEL, server.log_level, "info", 0, 0,
        "error, warning, info or debug"),
    KEY("server", "jwt_key_file", CONFIG_STRING, server.jwt_key_file, "", 0, 0,
        "file of the key verifying Bearer tokens: an HS256 secret, a PEM public key (RS*/ES*) or a JWK set; re-read on SIGHUP"),
    KEY("server", "jwt_audience", CONFIG_STRING, server.jwt_audience, "", 0, 0,
        "when set, a token's aud must name it"),
    KEY("server", "jwt_issuer", CONFIG_STRING, server.jwt_issuer, "", 0, 0,
        "when set, a token's iss must equal it"),
    KEY("server", "jwt_role_claim", CONFIG_STRING, server.jwt_role_claim, "role", 0, 0,
        "the claim naming the PostgreSQL role a request runs as; a path like .realm_access.role reaches inside objects"),
    KEY("server", "anonymous_role", CONFIG_STRING, server.anonymous_role, "", 0, 0,
        "role of a request without a token; empty: such a request gets 401"),
    KEY("server", "max_request_cost", CONFIG_INT, server.max_request_cost, "100000", 1, 2000000000,
        "a GraphQL request whose estimated cost is higher is refused with QUERY_TOO_EXPENSIVE before any SQL runs"),
    KEY("server", "introspection", CONFIG_BOOL, server.introspection, "on", 0, 0,
        "off refuses __schema and __type queries (INTROSPECTION_DISABLED); __typename still works"),
    KEY("server", "persisted_operations", CONFIG_STRING, server.persisted_operations, "", 0, 0,
        "JSON file {\"<sha256>\": \"<document>\"} of the only documents served; empty: any; re-read on SIGHUP"),
    KEY("server", "replica_urls", CONFIG_STRING, server.replica_urls, "", 0, 0,
        "hot standbys of database.url that serve queries: postgresql:// URIs separated by spaces; empty: none"),
    KEY("server", "replica_max_lag", CONFIG_DURATION, server.replica_max_lag_ms, "5s", 0, MS_PER_HOUR,
        "a replica further behind than this serves no query without a token (the primary does)"),
    KEY("server", "replica_wait_timeout", CONFIG_DURATION, server.replica_wait_timeout_ms, "200ms", 0, 60000,
        "how long a query with X-Tvsync-Min-Lsn waits for a replica to reach it before the primary answers"),
    KEY("migrate", "engine_dir", CONFIG_STRING, migrate.engine_dir, "", 0, 0,
        "folder of the engine's migration set (tvsync); empty: beside tvsync-migrate, else the installed one"),
    KEY("migrate", "dirs", CONFIG_STRING, migrate.dirs, "", 0, 0,
        "your migration sets, comma-separated folders applied in order after the engine's; --dir replaces them"),
};

#define KEY_COUNT (sizeof config_keys / sizeof config_keys[0])

size_t config_key_count(void)
{
    return KEY_COUNT;
}

const config_key *config_key_at(size_t index)
{
    return index < KEY_COUNT ? &config_keys[index] : NULL;
}

const config_key *config_key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

static void *field_of(tvsync_config *config, const config_key *key)
{
    return (char *) config + key->offset;
}

static const void *const_field_of(const tvsync_config *config, const config_key *key)
{
    return (const char *) config + key->offset;
}

/* Parses a decimal integer with an optional suffix of letters. */
static bool parse_number(const char *text, long long *number, const char **suffix)
{
    while (isspace((unsigned char) *text))
        text++;
    if (!isdigit((unsigned char) *text) && !(*text == '-' && isdigit((unsigned char) text[1])))
        return false;
    errno = 0;
    char *end;
    long long value = strtoll(text, &end, 10);
    if (errno == ERANGE)
        return false;
    while (isspace((unsigned char) *end))
        end++;
    *number = value;
    *suffix = end;
    return true;
}

static bool trailing_blank(const char *s)
{
    while (isspace((unsigned char) *s))
        s++;
    return *s == '\0';
}

static bool parse_duration_ms(const char *text, long long *out)
{
    long long value;
    const char *suffix;
    if (!parse_number(text, &value, &suffix) || value < 0)
        return false;
    static const struct { const char *unit; long long ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"min", 60000}, {"h", 3600000},
    };
    long long scale = 0;
    if (*suffix == '\0') {
        scale = 1000; /* a bare number is seconds */
    } else {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(suffix, units[i].unit, n) == 0 && trailing_blank(suffix + n)) {
                scale = units[i].ms;
                break;
            }
        }
    }
    if (scale == 0 || value > LLONG_MAX / scale)
        return false;
    *out = value * scale;
    return true;
}

static bool parse_size(const char *text, long long *out)
{
    long long value;
    const char *suffix;
    if (!parse_number(text, &value, &suffix) || value < 0)
        return false;
    static const struct { const char *unit; long long bytes; } units[] = {
        {"B", 1}, {"kB", 1024}, {"KB", 1024}, {"k", 1024}, {"MB", 1024 * 1024}, {"M", 1024 * 1024},
        {"GB", 1024LL * 1024 * 1024}, {"G", 1024LL * 1024 * 1024},
    };
    long long scale = 0;
    if (*suffix == '\0') {
        scale = 1;
    } else {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(suffix, units[i].unit, n) == 0 && trailing_blank(suffix + n)) {
                scale = units[i].bytes;
                break;
            }
        }
    }
    if (scale == 0 || value > LLONG_MAX / scale)
        return false;
    *out = value * scale;
    return true;
}

bool config_parse_listen(const char *text, char *host, size_t host_size, int *port)
{
    const char *colon;
    const char *host_start = text;
    size_t host_length;
    if (*text == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return false;
        host_start = text + 1;
        host_length = (size_t) (close - host_start);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || strchr(text, ':') != colon)
            return false;
        host_length = (size_t) (colon - text);
    }
    if (host_length == 0 || host_length >= host_size)
        return false;
    long long value;
    const char *suffix;
    if (!parse_number(colon + 1, &value, &suffix) || *suffix || value < 0 || value > 65535)
        return false;
    memcpy(host, host_start, host_length);
    host[host_length] = '\0';
    *port = (int) value;
    return true;
}

bool config_set(tvsync_config *config, const char *section, const char *name,
                const char *value, const char *origin, char *error, size_t error_size)
{
    const config_key *key = config_key_find(section, name);
    if (!key) {
        bool section_known = false;
        for (size_t i = 0; i < KEY_COUNT; i++)
            section_known |= strcmp(config_keys[i].section, section) == 0;
        if (!section_known)
            snprintf(error, error_size,
                     "%s: unknown section [%s]; the sections are [database], [slot], [cdc], [server] and [migrate]",
                     origin, section);
        else
            snprintf(error, error_size,
                     "%s: unknown key \"%s\" in section [%s]; see tvsync.conf(5) for the keys", origin,
                     name, section);
        return false;
    }
    void *field = field_of(config, key);
    long long number = 0;
    switch (key->type) {
    case CONFIG_STRING:
        free(*(char **) field);
        *(char **) field = alloc_strdup(value);
        return true;
    case CONFIG_LISTEN: {
        char host[256];
        int port;
        if (!config_parse_listen(value, host, sizeof host, &port)) {
            snprintf(error, error_size, "%s: %s.%s = \"%s\" is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)",
                     origin, section, name, value);
            return false;
        }
        free(*(char **) field);
        *(char **) field = alloc_strdup(value);
        return true;
    }
    case CONFIG_BOOL: {
        static const char *const yes[] = {"on", "true", "yes", "1"}, *const no[] = {"off", "false", "no", "0"};
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
            if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
                *(bool *) field = strcasecmp(value, yes[i]) == 0;
                return true;
            }
        }
        snprintf(error, error_size, "%s: %s.%s = \"%s\" is not on or off", origin, section, name, value);
        return false;
    }
    case CONFIG_OUTPUT_PLUGIN:
        if (!output_plugin_parse(value, (output_plugin *) field)) {
            snprintf(error, error_size, "%s: %s.%s = \"%s\" is not an output plugin tvsync reads (wal2json, pgoutput)",
                     origin, section, name, value);
            return false;
        }
        return true;
    case CONFIG_LOG_LEVEL: {
        log_level level;
        if (!log_level_parse(value, &level)) {
            snprintf(error, error_size, "%s: %s.%s = \"%s\" is not a log level (error, warning, info, debug)",
                     origin, section, name, value);
            return false;
        }
        *(log_level *) field = level;
        return true;
    }
    case CONFIG_INT: {
        const char *suffix;
        if (!parse_number(value, &number, &suffix) || *suffix) {
            snprintf(error, error_size, "%s: %s.%s = \"%s\" is not an integer", origin, section, name, value);
            return false;
        }
        break;
    }
    case CONFIG_DURATION:
        if (!parse_duration_ms(value, &number)) {
            snprintf(error, error_size,
                     "%s: %s.%s = \"%s\" is not a duration (e.g. 250ms, 10s, 2min, 1h; a bare number is seconds)",
                     origin, section, name, value);
            return false;
        }
        break;
    case CONFIG_SIZE:
        if (!parse_size(value, &number)) {
            snprintf(error, error_size, "%s: %s.%s = \"%s\" is not a size (e.g. 65536, 64kB, 1MB)", origin,
                     section, name, value);
            return false;
        }
        break;
    }
    if (number < key->min || number > key->max) {
        snprintf(error, error_size, "%s: %s.%s = \"%s\" is out of range (%lld%s to %lld%s)", origin, section,
                 name, value, (long long) key->min, key->type == CONFIG_DURATION ? "ms" : "",
                 (long long) key->max, key->type == CONFIG_DURATION ? "ms" : "");
        return false;
    }
    if (key->type == CONFIG_SIZE)
        *(int64_t *) field = number;
    else
        *(int *) field = (int) number;
    return true;
}

void config_init(tvsync_config *config)
{
    memset(config, 0, sizeof *config);
    char error[512];
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (!config_set(config, config_keys[i].section, config_keys[i].name, config_keys[i].default_value,
                        "default", error, sizeof error)) {
            /* A bad default is a bug in the table, caught by the unit tests. */
            fprintf(stderr, "tvsync: internal error: %s\n", error);
            abort();
        }
    }
}

void config_free(tvsync_config *config)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (config_keys[i].type == CONFIG_STRING || config_keys[i].type == CONFIG_LISTEN) {
            char **field = field_of(config, &config_keys[i]);
            free(*field);
            *field = NULL;
        }
    }
}

typedef struct file_context {
    tvsync_config *config;
    FILE *file;
    int line;                   /* lines read so far: Debian's libinih does not pass line numbers */
    const char *path;
    char *error;
    size_t error_size;
    bool failed;
} file_context;

/* fgets that counts lines, so errors can name the line. */
static char *ini_reader_cb(char *line, int size, void *stream)
{
    file_context *context = stream;
    char *result = fgets(line, size, context->file);
    if (result)
        context->line++;
    return result;
}

static int ini_entry_cb(void *user, const char *section, const char *name, const char *value)
{
    file_context *context = user;
    int line = context->line;
    char origin[4096 + 32];
    snprintf(origin, sizeof origin, "%s:%d", context->path, line);
    if (!name) {
        /* A bare section header: check it is a known section. */
        bool known = false;
        for (size_t i = 0; i < KEY_COUNT; i++)
            known |= strcmp(config_keys[i].section, section) == 0;
        if (!known) {
            snprintf(context->error, context->error_size,
                     "%s: unknown section [%s]; the sections are [database], [slot], [cdc], [server] and [migrate]",
                     origin, section);
            context->failed = true;
            return 0;
        }
        return 1;
    }
    if (!*section) {
        snprintf(context->error, context->error_size,
                 "%s: key \"%s\" is outside any section; put it under [database], [slot], [cdc], [server] or [migrate]",
                 origin, name);
        context->failed = true;
        return 0;
    }
    if (!config_set(context->config, section, name, value, origin, context->error, context->error_size)) {
        context->failed = true;
        return 0;
    }
    return 1;
}

bool config_load_file(tvsync_config *config, const char *path, bool must_exist,
                      char *error, size_t error_size)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        if (!must_exist && errno == ENOENT)
            return true;
        snprintf(error, error_size, "%s: cannot read configuration file: %s", path, strerror(errno));
        return false;
    }
    file_context context = {config, file, 0, path, error, error_size, false};
    int result = ini_parse_stream(ini_reader_cb, &context, ini_entry_cb, &context);
    fclose(file);
    if (context.failed)
        return false;
    if (result > 0) {
        snprintf(error, error_size, "%s:%d: syntax error: expected \"[section]\" or \"key = value\"", path,
                 result);
        return false;
    }
    if (result < 0) {
        snprintf(error, error_size, "%s: cannot read configuration file", path);
        return false;
    }
    return true;
}

bool config_apply_environment(tvsync_config *config, char *error, size_t error_size)
{
    /* TVSYNC_PG_MAJOR and TVSYNC_PG_CACHE pick the test clusters' PostgreSQL (tests/lib/pgcluster.sh,
     * scripts/lib/deps.sh): the binaries the tests start inherit them. */
    static const char *const not_keys[] = {"TVSYNC_CONFIG", "TVSYNC_LOG_LEVEL", "TVSYNC_BUILDDIR", "TVSYNC_SRCDIR",
                                           "TVSYNC_TEST_", "TVSYNC_PG_MAJOR", "TVSYNC_PG_CACHE"};
    for (char **entry = environ; *entry; entry++) {
        if (strncmp(*entry, "TVSYNC_", 7) != 0)
            continue;
        const char *equals = strchr(*entry, '=');
        if (!equals)
            continue;
        size_t name_length = (size_t) (equals - *entry);
        bool skip = false;
        for (size_t i = 0; i < sizeof not_keys / sizeof not_keys[0]; i++) {
            size_t n = strlen(not_keys[i]);
            bool prefix = not_keys[i][n - 1] == '_';
            if (prefix ? strncmp(*entry, not_keys[i], n) == 0
                       : (name_length == n && strncmp(*entry, not_keys[i], n) == 0))
                skip = true;
        }
        if (skip)
            continue;
        bool matched = false;
        for (size_t i = 0; i < KEY_COUNT && !matched; i++) {
            char variable[128];
            int n = snprintf(variable, sizeof variable, "TVSYNC_%s_%s", config_keys[i].section, config_keys[i].name);
            for (int j = 0; j < n; j++)
                variable[j] = (char) toupper((unsigned char) variable[j]);
            if ((size_t) n == name_length && strncmp(*entry, variable, name_length) == 0) {
                matched = true;
                if (!config_set(config, config_keys[i].section, config_keys[i].name, equals + 1, variable, error,
                                error_size))
                    return false;
            }
        }
        if (!matched) {
            snprintf(error, error_size,
                     "environment variable %.*s names no configuration key; the form is "
                     "TVSYNC_<SECTION>_<KEY>, e.g. TVSYNC_DATABASE_URL (see tvsync.conf(5))",
                     (int) name_length, *entry);
            return false;
        }
    }
    return true;
}

const char *output_plugin_name(output_plugin plugin)
{
    return plugin == OUTPUT_PLUGIN_PGOUTPUT ? "pgoutput" : "wal2json";
}

bool output_plugin_parse(const char *text, output_plugin *out)
{
    if (strcmp(text, "wal2json") == 0)
        *out = OUTPUT_PLUGIN_WAL2JSON;
    else if (strcmp(text, "pgoutput") == 0)
        *out = OUTPUT_PLUGIN_PGOUTPUT;
    else
        return false;
    return true;
}

const char *config_format_value(const tvsync_config *config, const config_key *key,
                                char *buffer, size_t buffer_size)
{
    const void *field = const_field_of(config, key);
    switch (key->type) {
    case CONFIG_STRING:
    case CONFIG_LISTEN:
        snprintf(buffer, buffer_size, "%s", *(char *const *) field ? *(char *const *) field : "");
        break;
    case CONFIG_LOG_LEVEL:
        snprintf(buffer, buffer_size, "%s", log_level_name(*(const log_level *) field));
        break;
    case CONFIG_OUTPUT_PLUGIN:
        snprintf(buffer, buffer_size, "%s", output_plugin_name(*(const output_plugin *) field));
        break;
    case CONFIG_BOOL:
        snprintf(buffer, buffer_size, "%s", *(const bool *) field ? "on" : "off");
        break;
    case CONFIG_INT:
        snprintf(buffer, buffer_size, "%d", *(const int *) field);
        break;
    case CONFIG_DURATION: {
        int ms = *(const int *) field;
        if (ms % 1000 == 0)
            snprintf(buffer, buffer_size, "%ds", ms / 1000);
        else
            snprintf(buffer, buffer_size, "%dms", ms);
        break;
    }
    case CONFIG_SIZE:
        snprintf(buffer, buffer_size, "%lld", (long long) *(const int64_t *) field);
        break;
    }
    return buffer;
}
