/* replica: the hot standbys of [server] replica_urls and their prober. The prober runs on one
 * loop and publishes each replica's state in atomics that every worker reads without a lock. */
#include <config.h>

#include "server/replica.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/pg.h"
#include "server/db_pool.h"

/* A replica is probed this often; while a read waits for a token, every
 * REPLICA_PROBE_FAST_MS (the wait ends at most that long after the replica reached it). */
#define REPLICA_PROBE_MS 100
#define REPLICA_PROBE_FAST_MS 1
/* A probe unanswered this long marks the replica down (a frozen standby). */
#define REPLICA_PROBE_DEADLINE_MS 1000
/* A replica that is down is probed again after a delay that doubles up to this. */
#define REPLICA_BACKOFF_MAX_MS 5000

/* Lag 0 when everything received is replayed: an idle primary sends nothing, and the last
 * replayed commit's age says nothing then. */
#define PROBE_COLUMNS \
    "SELECT pg_is_in_recovery(), " \
    "CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0 " \
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, 0) END"

typedef struct replica {
    replica_set *set;
    int index;
    char *url;
    char label[24];
    /* published by the prober, read by the workers */
    atomic_int state;
    atomic_llong lag_us;         /* -1: never measured */
    atomic_ullong progress;      /* replayed origin progress; 0: unknown */
    /* the prober's own */
    db_pool *probe;
    bool in_flight;
    bool progress_readable;      /* false after tvsync.replica_progress was refused */
    pg_backoff backoff;
    struct timespec next_probe;  /* a down replica is not probed before this */
} replica;

struct replica_set {
    replica *replicas;
    int count;
    int max_lag_ms;
    int connect_timeout_ms;
    char *origin;                /* [slot] name: tvsync-cdc's replication origin */
    atomic_int waiting;          /* reads waiting for a token */
    struct event_base *base;     /* the prober's loop; NULL while not probing */
    struct event *timer;
};

const char *replica_state_name(replica_state state)
{
    switch (state) {
    case REPLICA_UP:
        return "up";
    case REPLICA_LAGGING:
        return "lagging";
    case REPLICA_DOWN:
        break;
    }
    return "down";
}

/* Checks one entry of replica_urls; false with error[] set. */
static bool entry_check(const char *entry, char *error, size_t error_size)
{
    if (strncmp(entry, "postgresql://", 13) != 0 && strncmp(entry, "postgres://", 11) != 0) {
        snprintf(error, error_size,
                 "server.replica_urls: \"%.200s\" is not a postgresql:// URI; list one URI per hot standby, "
                 "separated by spaces (e.g. postgresql://standby1:5432/app postgresql://standby2:5432/app)",
                 entry);
        return false;
    }
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(entry, &message);
    if (options == NULL) {
        size_t length = message ? strlen(message) : 0;
        while (length > 0 && isspace((unsigned char) message[length - 1]))
            length--;
        snprintf(error, error_size, "server.replica_urls: \"%.200s\" is not a valid URI: %.*s", entry, (int) length,
                 message ? message : "out of memory");
        PQfreemem(message);
        return false;
    }
    bool ok = true;
    for (PQconninfoOption *option = options; option->keyword != NULL && ok; option++) {
        if (option->val != NULL && strchr(option->val, ',') != NULL &&
            (strcmp(option->keyword, "host") == 0 || strcmp(option->keyword, "hostaddr") == 0 ||
             strcmp(option->keyword, "port") == 0)) {
            snprintf(error, error_size,
                     "server.replica_urls: \"%.200s\" names several hosts; give each standby its own URI, "
                     "separated by spaces", entry);
            ok = false;
        }
    }
    PQconninfoFree(options);
    return ok;
}

replica_set *replica_set_new(const tvsync_config *config, char *error, size_t error_size)
{
    replica_set *set = alloc_calloc(1, sizeof *set);
    set->max_lag_ms = config->server.replica_max_lag_ms;
    set->connect_timeout_ms = config->database.connect_timeout_ms;
    set->origin = alloc_strdup(config->slot.name);
    atomic_init(&set->waiting, 0);
    const char *text = config->server.replica_urls ? config->server.replica_urls : "";
    int capacity = 0;
    for (const char *p = text;;) {
        while (isspace((unsigned char) *p))
            p++;
        if (*p == '\0')
            break;
        size_t length = 0;
        while (p[length] != '\0' && !isspace((unsigned char) p[length]))
            length++;
        char *entry = alloc_malloc(length + 1);
        memcpy(entry, p, length);
        entry[length] = '\0';
        p += length;
        if (!entry_check(entry, error, error_size)) {
            free(entry);
            replica_set_free(set);
            return NULL;
        }
        if (set->count == capacity) {
            capacity = capacity ? capacity * 2 : 4;
            set->replicas = alloc_array(set->replicas, (size_t) capacity, sizeof *set->replicas);
        }
        replica *r = &set->replicas[set->count];
        memset(r, 0, sizeof *r);
        r->set = set;
        r->index = set->count;
        r->url = entry;
        snprintf(r->label, sizeof r->label, "replica%d", set->count + 1);
        atomic_init(&r->state, REPLICA_DOWN);
        atomic_init(&r->lag_us, -1);
        atomic_init(&r->progress, 0);
        r->progress_readable = true;
        pg_backoff_init(&r->backoff, REPLICA_PROBE_MS, REPLICA_BACKOFF_MAX_MS);
        set->count++;
    }
    return set;
}

void replica_set_free(replica_set *set)
{
    if (set == NULL)
        return;
    for (int i = 0; i < set->count; i++)
        free(set->replicas[i].url);
    free(set->replicas);
    free(set->origin);
    free(set);
}

int replica_set_count(const replica_set *set)
{
    return set ? set->count : 0;
}

const char *replica_set_url(const replica_set *set, int index)
{
    return set->replicas[index].url;
}

const char *replica_set_label(const replica_set *set, int index)
{
    return index < 0 ? "primary" : set->replicas[index].label;
}

/* ----------------------------------------------------------------- the prober */

static void now_monotonic(struct timespec *now)
{
    clock_gettime(CLOCK_MONOTONIC, now);
}

static bool time_reached(const struct timespec *when)
{
    struct timespec now;
    now_monotonic(&now);
    return now.tv_sec > when->tv_sec || (now.tv_sec == when->tv_sec && now.tv_nsec >= when->tv_nsec);
}

static void set_state(replica *r, replica_state state, const char *why)
{
    replica_state before = (replica_state) atomic_load(&r->state);
    if (state == REPLICA_DOWN)
        atomic_store(&r->progress, 0); /* after a restart, what was replayed is known again only by a probe */
    atomic_store(&r->state, state);
    if (before == state)
        return;
    if (state == REPLICA_DOWN)
        log_warning("replica %d (%s) is down: %s; queries go to the other replicas or the primary", r->index + 1,
                    r->url, why);
    else
        log_info("replica %d (%s) is %s%s%s", r->index + 1, r->url, replica_state_name(state), why ? ": " : "",
                 why ? why : "");
}

static void probe_failed(replica *r, const char *why)
{
    set_state(r, REPLICA_DOWN, why);
    int delay_ms = pg_backoff_next_ms(&r->backoff);
    now_monotonic(&r->next_probe);
    r->next_probe.tv_sec += delay_ms / 1000;
    r->next_probe.tv_nsec += (long) (delay_ms % 1000) * 1000000L;
    if (r->next_probe.tv_nsec >= 1000000000L) {
        r->next_probe.tv_sec++;
        r->next_probe.tv_nsec -= 1000000000L;
    }
}

static void probe_result_cb(void *arg, const PGresult *result, const char *error)
{
    replica *r = arg;
    r->in_flight = false;
    if (error != NULL) {
        if (result != NULL && r->progress_readable) {
            /* The statement ran and was refused: migration 047 is missing, or its function's
             * owner may not read the origin. The lag alone still routes token-less reads. */
            log_warning("replica %d (%s): reading tvsync-cdc's replayed progress failed (%s); reads with "
                        "X-Tvsync-Min-Lsn go to the primary (apply the engine's migrations with a role that may "
                        "read pg_replication_origin_status)", r->index + 1, r->url, error);
            r->progress_readable = false;
            return;
        }
        probe_failed(r, error);
        return;
    }
    if (PQntuples(result) != 1 || strcmp(PQgetvalue(result, 0, 0), "t") != 0) {
        probe_failed(r, "it is not a hot standby (pg_is_in_recovery() is false)");
        return;
    }
    pg_backoff_reset(&r->backoff);
    double lag = PQgetisnull(result, 0, 1) ? 0 : strtod(PQgetvalue(result, 0, 1), NULL);
    if (lag < 0)
        lag = 0; /* clocks of primary and standby apart */
    atomic_store(&r->lag_us, (long long) (lag * 1e6));
    lsn_t progress;
    if (!PQgetisnull(result, 0, 2) && lsn_parse(PQgetvalue(result, 0, 2), &progress))
        atomic_store(&r->progress, progress);
    set_state(r, lag * 1000 <= r->set->max_lag_ms ? REPLICA_UP : REPLICA_LAGGING, NULL);
}

static void probe(replica *r)
{
    if (r->in_flight || !time_reached(&r->next_probe))
        return;
    r->in_flight = true;
    if (r->progress_readable) {
        const char *params[] = {r->set->origin};
        db_pool_submit(r->probe, PROBE_COLUMNS ", tvsync.replica_progress($1)::text", 1, params,
                       DB_POOL_PREPARED, probe_result_cb, r);
    } else {
        db_pool_submit(r->probe, PROBE_COLUMNS ", NULL::text", 0, NULL, DB_POOL_PREPARED, probe_result_cb, r);
    }
}

static void probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    replica_set *set = arg;
    for (int i = 0; i < set->count; i++)
        probe(&set->replicas[i]);
    int interval_ms = atomic_load(&set->waiting) > 0 ? REPLICA_PROBE_FAST_MS : REPLICA_PROBE_MS;
    struct timeval interval = {0, interval_ms * 1000};
    evtimer_add(set->timer, &interval);
}

void replica_set_start_prober(replica_set *set, struct event_base *base)
{
    if (set == NULL || set->count == 0)
        return;
    set->base = base;
    for (int i = 0; i < set->count; i++) {
        replica *r = &set->replicas[i];
        char name[64];
        snprintf(name, sizeof name, "tvsync-server replica probe %d", i + 1);
        r->probe = db_pool_new(base, r->url, name, 1, set->connect_timeout_ms, NULL, REPLICA_PROBE_DEADLINE_MS);
        db_pool_set_deadline(r->probe, REPLICA_PROBE_DEADLINE_MS, 0);
    }
    set->timer = alloc_check(evtimer_new(base, probe_timer_cb, set));
    event_active(set->timer, EV_TIMEOUT, 0);
}

void replica_set_stop_prober(replica_set *set)
{
    if (set == NULL || set->base == NULL)
        return;
    event_free(set->timer);
    set->timer = NULL;
    for (int i = 0; i < set->count; i++) {
        db_pool_free(set->replicas[i].probe);
        set->replicas[i].probe = NULL;
        set->replicas[i].in_flight = false;
    }
    set->base = NULL;
}

/* ----------------------------------------------------------------- the workers' side */

int replica_set_pick(const replica_set *set, unsigned *cursor)
{
    int count = replica_set_count(set);
    for (int i = 0; i < count; i++) {
        int index = (int) ((*cursor + (unsigned) i) % (unsigned) count);
        if (atomic_load_explicit(&set->replicas[index].state, memory_order_relaxed) == REPLICA_UP) {
            *cursor = (unsigned) index + 1;
            return index;
        }
    }
    return -1;
}

int replica_set_pick_reached(const replica_set *set, lsn_t min_lsn, unsigned *cursor)
{
    int count = replica_set_count(set);
    for (int i = 0; i < count; i++) {
        int index = (int) ((*cursor + (unsigned) i) % (unsigned) count);
        const replica *r = &set->replicas[index];
        /* progress before state: a replica going down resets progress first */
        if (atomic_load(&r->progress) >= min_lsn && atomic_load(&r->state) != REPLICA_DOWN) {
            *cursor = (unsigned) index + 1;
            return index;
        }
    }
    return -1;
}

bool replica_set_any_alive(const replica_set *set)
{
    for (int i = 0; i < replica_set_count(set); i++)
        if (atomic_load_explicit(&set->replicas[i].state, memory_order_relaxed) != REPLICA_DOWN)
            return true;
    return false;
}

void replica_set_waiting(replica_set *set, bool waiting)
{
    if (!waiting) {
        atomic_fetch_sub(&set->waiting, 1);
        return;
    }
    /* The first waiter wakes the prober from its slow interval (libevent's locks allow
     * this from another thread). */
    if (atomic_fetch_add(&set->waiting, 1) == 0 && set->timer != NULL)
        event_active(set->timer, EV_TIMEOUT, 0);
}

void replica_set_view(const replica_set *set, int index, replica_view *view)
{
    const replica *r = &set->replicas[index];
    view->state = (replica_state) atomic_load(&r->state);
    long long lag_us = atomic_load(&r->lag_us);
    view->lag_seconds = lag_us < 0 ? -1 : (double) lag_us / 1e6;
    view->replayed_progress = atomic_load(&r->progress);
}
