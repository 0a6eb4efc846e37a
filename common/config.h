/* config: tvsync's configuration, one struct for every binary, filled from
 * defaults < INI file < environment < command-line flags. Every key is in one table. */
#ifndef TVSYNC_COMMON_CONFIG_H
#define TVSYNC_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

/* Used when neither --config nor TVSYNC_CONFIG names a file. A missing
 * default file is not an error; a missing named one is. */
#define CONFIG_DEFAULT_PATH "/etc/tvsync/tvsync.conf"

/* The logical decoding output plugin of the slot tvsync-cdc streams from ([slot] plugin). */
typedef enum output_plugin {
    OUTPUT_PLUGIN_WAL2JSON,
    OUTPUT_PLUGIN_PGOUTPUT,
} output_plugin;

typedef struct tvsync_config {
    struct {
        char *url;                  /* libpq URI or conninfo; "" = libpq defaults (PG* variables) */
        int connect_timeout_ms;
    } database;
    struct {
        char *name;                 /* replication slot and origin name */
        output_plugin plugin;
        bool failover;              /* create the slot with FAILOVER (PostgreSQL 17+) */
    } slot;
    struct {
        int batch_max_transactions;
        int batch_max_ids;
        int batch_max_delay_ms;
        int rebuild_chunk_rows;
        int generic_plans;
        char *toast_compression;
        int max_retries;
        int status_interval_ms;
        int heartbeat_interval_ms;
        int reconnect_max_delay_ms;
        int health_max_lag_seconds;
        char *metrics_listen;       /* HOST:PORT */
        log_level log_level;
        int64_t patch_min_bytes;
        char *decode_url;           /* the standby holding the slot; "" = database.url */
    } cdc;
    struct {
        char *listen;               /* HOST:PORT */
        char *schema;               /* SDL file path; "" = none given (tvsync-server refuses to start) */
        int threads;                /* 0 = number of online CPUs */
        int pool_size;
        int64_t max_body_bytes;
        int max_limit;
        int max_connections;
        int request_timeout_ms;
        int sync_wait_timeout_ms;
        int statement_timeout_ms;   /* the pool connections' statement_timeout */
        int request_deadline_ms;    /* a statement unanswered this long fails and resets its connection */
        log_level log_level;
        char *jwt_key_file;         /* "" = no tokens accepted (authentication off unless anonymous_role) */
        char *jwt_audience;         /* "" = aud not checked */
        char *jwt_issuer;           /* "" = iss not checked */
        char *jwt_role_claim;       /* claim name, or a .path.into.objects */
        char *anonymous_role;       /* "" = a request without a token gets 401 */
        int max_request_cost;       /* gql_cost units: values an answer may hold, plus per root field */
        bool introspection;         /* false: __schema and __type are refused */
        char *persisted_operations; /* JSON file of allowed documents by sha256; "" = any document */
        char *replica_urls;         /* hot standbys: URIs separated by whitespace; "" = none */
        int replica_max_lag_ms;     /* replicas lagging more serve no token-less query */
        int replica_wait_timeout_ms; /* a token's longest wait for a replica before the primary */
    } server;
    struct {
        char *engine_dir;           /* the engine's migrations; "" = found beside the binary or installed */
        char *dirs;                 /* the user's migration sets, comma-separated, applied in order */
    } migrate;
} tvsync_config;

typedef enum config_type {
    CONFIG_STRING,
    CONFIG_INT,       /* decimal integer within [min, max] */
    CONFIG_DURATION,  /* "250ms", "10s", "2m", "1h"; a bare number is seconds; stored in ms */
    CONFIG_SIZE,      /* "512", "64kB", "1MB", "1GB" (powers of 1024); stored in bytes (int64_t) */
    CONFIG_LOG_LEVEL, /* error | warning | info | debug */
    CONFIG_LISTEN,    /* HOST:PORT, port 0-65535 */
    CONFIG_BOOL,      /* on | off (also true/false, yes/no, 1/0); stored as bool */
    CONFIG_OUTPUT_PLUGIN, /* wal2json | pgoutput; stored as output_plugin */
} config_type;

typedef struct config_key {
    const char *section;
    const char *name;
    config_type type;
    size_t offset;              /* into tvsync_config */
    const char *default_value;  /* as it would be written in the file */
    int64_t min, max;           /* CONFIG_INT, CONFIG_DURATION (ms), CONFIG_SIZE */
    const char *description;    /* one line, for --help-config and docs */
} config_key;

/* The key table. Index 0..config_key_count()-1; the table never changes at run time. */
size_t config_key_count(void);
const config_key *config_key_at(size_t index);
/* NULL when section.name is not a key. */
const config_key *config_key_find(const char *section, const char *name);

/* Fills *config with every key's default. The strings are owned by *config. */
void config_init(tvsync_config *config);
/* Frees the strings *config owns; *config may be config_init'ed again. */
void config_free(tvsync_config *config);

/* Sets one key from its text form. `origin` says where the value came from
 * ("/etc/tvsync/tvsync.conf:12", "TVSYNC_CDC_BATCH_MAX_IDS", "--set") and
 * starts the error message. On error returns false, writes a message naming the
 * origin, key and what is accepted into error[error_size], and leaves *config
 * unchanged. */
bool config_set(tvsync_config *config, const char *section, const char *name,
                const char *value, const char *origin, char *error, size_t error_size);

/* Reads an INI file with libinih. must_exist=false makes a missing file a
 * no-op. An unreadable file, a syntax error, an unknown section or key, or a bad
 * value fails with a message naming the file, the line and the key; *config may
 * then hold the keys set before the failing line. */
bool config_load_file(tvsync_config *config, const char *path, bool must_exist,
                      char *error, size_t error_size);

/* Applies TVSYNC_<SECTION>_<KEY> variables (TVSYNC_DATABASE_URL,
 * TVSYNC_CDC_BATCH_MAX_IDS, ...). A TVSYNC_ variable that names no key is an
 * error (a misspelled override should not pass silently), except the ones
 * tvsync reads elsewhere: TVSYNC_CONFIG, TVSYNC_LOG_LEVEL, and the test
 * harness's TVSYNC_BUILDDIR/TVSYNC_SRCDIR/TVSYNC_TEST_*. */
bool config_apply_environment(tvsync_config *config, char *error, size_t error_size);

/* The value of a key in text form (what the file would say), written into
 * buffer. Used by --show-config and tests. */
const char *config_format_value(const tvsync_config *config, const config_key *key,
                                char *buffer, size_t buffer_size);

/* The plugin's name as PostgreSQL knows it ("wal2json", "pgoutput"). */
const char *output_plugin_name(output_plugin plugin);
/* Parses a plugin name (exact, lower case); false when it is neither. */
bool output_plugin_parse(const char *text, output_plugin *out);

/* Splits "HOST:PORT" ("[::1]:8080" too). host gets at most host_size-1 bytes.
 * Returns false when the text is not of that form. */
bool config_parse_listen(const char *text, char *host, size_t host_size, int *port);

#endif
