/* sync_wait: read-your-writes. The leader (the first worker's) has the process's LISTEN
 * tvsync_applied connection: tvsync-cdc NOTIFYs the end LSN of each applied transaction,
 * and the leader publishes it in the hub and wakes each follower that has waiters. A
 * waiter is released on its own worker's loop when the LSN passes its target. */
#include <config.h>

#include "server/sync_wait.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "server/db_pool.h"

#define SYNC_CHANNEL "tvsync_applied"
/* While someone waits, the slot's confirmed position is also polled this often: a
 * notification may be lost with a connection, and a wait for a position past the last
 * source transaction ends only through the slot. */
#define SYNC_POLL_INTERVAL_MS 50

typedef struct sync_waiter sync_waiter;

/* The intent messages of this many applied transactions are remembered (tvsync-cdc names
 * them in its notifications), for waiters that start waiting after theirs went by. */
#define SYNC_RECENT 4096

struct sync_waiter {
    sync_wait *owner;
    sync_waiter *prev, *next;
    lsn_t message;             /* the mutation's last intent message */
    lsn_t bound;               /* a position at or past its commit */
    bool matched;              /* its message was found applied after it was published */
    struct event *timer;
    sync_wait_fn fn;
    void *arg;
};

struct sync_hub {
    pthread_mutex_t lock;      /* guards leader and followers */
    atomic_ullong applied;     /* the leader's applied LSN */
    atomic_ullong origin;      /* the highest origin progress tvsync-cdc notified (not the slot's) */
    atomic_bool listening;
    atomic_int running_followers;
    atomic_bool polling;       /* the leader's poll timer is armed */
    sync_wait *leader;
    sync_wait **followers;
    size_t follower_count, follower_capacity;
    lsn_t recent[SYNC_RECENT]; /* ring of applied transactions' last intent messages */
    uint64_t recent_total;     /* how many were ever added (guarded by lock) */
};

struct sync_wait {
    struct event_base *base;
    sync_hub *hub;
    bool leader;
    lsn_t applied;             /* what this loop has released waiters up to */
    uint64_t recent_seen;      /* hub->recent_total when this loop last released waiters */
    sync_waiter *head;
    int pending;
    atomic_int shared_pending; /* follower: pending, for the leader to read */
    struct event *wake;        /* follower: the leader saw the LSN move */
    /* leader only */
    db_pool *pool;
    char *slot_name;
    bool progress_readable;    /* false after the progress query was refused (privileges) */
    bool poll_in_flight;
    struct event *poll_timer;
    struct event *followers_stopped_event;
    void (*followers_stopped_fn)(void *arg);
    void *followers_stopped_arg;
};

sync_hub *sync_hub_new(void)
{
    sync_hub *hub = alloc_calloc(1, sizeof *hub);
    pthread_mutex_init(&hub->lock, NULL);
    atomic_init(&hub->applied, 0);
    atomic_init(&hub->origin, 0);
    atomic_init(&hub->listening, false);
    atomic_init(&hub->running_followers, 0);
    atomic_init(&hub->polling, false);
    return hub;
}

void sync_hub_free(sync_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_destroy(&hub->lock);
    free(hub->followers);
    free(hub);
}

/* Whether anyone in the process waits (the leader polls the slot's position then). */
static bool anyone_waiting(sync_wait *leader)
{
    if (leader->head != NULL)
        return true;
    sync_hub *hub = leader->hub;
    bool waiting = false;
    pthread_mutex_lock(&hub->lock);
    for (size_t i = 0; i < hub->follower_count && !waiting; i++)
        waiting = atomic_load(&hub->followers[i]->shared_pending) > 0;
    pthread_mutex_unlock(&hub->lock);
    return waiting;
}

/* Leader: wakes the followers that have waiters (after publishing the LSN: a follower
 * publishes its waiters before reading it, so one of the two sees the other). */
static void wake_followers(sync_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    for (size_t i = 0; i < hub->follower_count; i++)
        if (atomic_load(&hub->followers[i]->shared_pending) > 0)
            event_active(hub->followers[i]->wake, EV_TIMEOUT, 0);
    pthread_mutex_unlock(&hub->lock);
}

static void set_pending(sync_wait *wait, int pending)
{
    wait->pending = pending;
    if (!wait->leader)
        atomic_store(&wait->shared_pending, pending);
}

static void waiter_unlink(sync_waiter *waiter)
{
    sync_wait *wait = waiter->owner;
    if (waiter->prev)
        waiter->prev->next = waiter->next;
    else
        wait->head = waiter->next;
    if (waiter->next)
        waiter->next->prev = waiter->prev;
    set_pending(wait, wait->pending - 1);
    event_free(waiter->timer);
}

static int compare_lsn(const void *a, const void *b)
{
    lsn_t x = *(const lsn_t *) a, y = *(const lsn_t *) b;
    return x < y ? -1 : x > y;
}

/* Whether the hub remembers message as applied. */
static bool recent_contains(sync_hub *hub, lsn_t message)
{
    bool found = false;
    pthread_mutex_lock(&hub->lock);
    uint64_t count = hub->recent_total < SYNC_RECENT ? hub->recent_total : SYNC_RECENT;
    for (uint64_t i = 0; i < count && !found; i++)
        found = hub->recent[i] == message;
    pthread_mutex_unlock(&hub->lock);
    return found;
}

/* The messages added since this loop last looked, sorted; the count (0: none, *out NULL). */
static size_t take_fresh(sync_wait *wait, lsn_t **out)
{
    sync_hub *hub = wait->hub;
    *out = NULL;
    pthread_mutex_lock(&hub->lock);
    uint64_t from = wait->recent_seen, to = hub->recent_total;
    if (to - from > SYNC_RECENT)
        from = to - SYNC_RECENT;   /* overrun: the older ones end through the bound */
    size_t count = (size_t) (to - from);
    if (count > 0 && wait->head != NULL) {
        *out = alloc_array(NULL, count, sizeof **out);
        for (size_t i = 0; i < count; i++)
            (*out)[i] = hub->recent[(from + i) % SYNC_RECENT];
    } else {
        count = 0;
    }
    wait->recent_seen = to;
    pthread_mutex_unlock(&hub->lock);
    if (count > 1)
        qsort(*out, count, sizeof **out, compare_lsn);
    return count;
}

static bool waiter_reached(const sync_wait *wait, const sync_waiter *waiter, const lsn_t *fresh, size_t fresh_count)
{
    return waiter->matched || waiter->bound <= wait->applied ||
           (fresh_count > 0 && bsearch(&waiter->message, fresh, fresh_count, sizeof *fresh, compare_lsn) != NULL);
}

static void release_reached(sync_wait *wait)
{
    lsn_t *fresh;
    size_t fresh_count = take_fresh(wait, &fresh);
    /* Unlink first: a callback may add or cancel waiters. */
    sync_waiter *ready = NULL;
    for (sync_waiter *waiter = wait->head, *next; waiter; waiter = next) {
        next = waiter->next;
        if (waiter_reached(wait, waiter, fresh, fresh_count)) {
            waiter_unlink(waiter);
            waiter->next = ready;
            ready = waiter;
        }
    }
    free(fresh);
    while (ready != NULL) {
        sync_waiter *waiter = ready;
        ready = waiter->next;
        waiter->fn(waiter->arg, true);
        free(waiter);
    }
}

/* A payload: the applied position, then (tvsync-cdc's notifications) the last intent
 * message of each source transaction the apply held, all as LSN text separated by spaces. */
static void advance(sync_wait *wait, const char *text, bool notified)
{
    lsn_t lsn;
    const char *space = text ? strchr(text, ' ') : NULL;
    char first[LSN_FORMAT_SIZE + 8];
    size_t first_length = space ? (size_t) (space - text) : (text ? strlen(text) : 0);
    if (text == NULL || first_length >= sizeof first) {
        log_warning("ignoring %s notification with payload \"%.60s\": not an LSN", SYNC_CHANNEL, text ? text : "");
        return;
    }
    memcpy(first, text, first_length);
    first[first_length] = '\0';
    if (!lsn_parse(first, &lsn)) {
        log_warning("ignoring %s notification with payload \"%.60s\": not an LSN", SYNC_CHANNEL, text);
        return;
    }
    /* Before the messages: whoever finds its message sees the progress of its apply. */
    if (notified && lsn > atomic_load(&wait->hub->origin))
        atomic_store(&wait->hub->origin, lsn);
    bool messages = false;
    if (space != NULL) {
        sync_hub *hub = wait->hub;
        pthread_mutex_lock(&hub->lock);
        for (const char *p = space; *p != '\0';) {
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, " ");
            lsn_t message;
            if (n > 0 && n < sizeof first) {
                memcpy(first, p, n);
                first[n] = '\0';
                if (lsn_parse(first, &message)) {
                    hub->recent[hub->recent_total++ % SYNC_RECENT] = message;
                    messages = true;
                }
            }
            p += n;
        }
        pthread_mutex_unlock(&hub->lock);
    }
    bool moved = lsn > wait->applied;
    if (moved) {
        wait->applied = lsn;
        atomic_store(&wait->hub->applied, lsn);
        log_debug("tvsync-cdc applied up to %s (%d waiting here)", first, wait->pending);
    }
    if (moved || messages) {
        release_reached(wait);
        wake_followers(wait->hub);
    }
}

/* Follower: takes the hub's LSN and releases what it reached. */
static void catch_up(sync_wait *wait)
{
    lsn_t applied = atomic_load(&wait->hub->applied);
    if (applied > wait->applied)
        wait->applied = applied;
    release_reached(wait);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    catch_up(arg);
}

static void set_listening(sync_wait *wait, bool listening)
{
    atomic_store(&wait->hub->listening, listening);
}

static void notify_cb(void *arg, const char *channel, const char *payload)
{
    if (strcmp(channel, SYNC_CHANNEL) == 0)
        advance(arg, payload, true);
}

static void progress_cb(void *arg, const PGresult *result, const char *error)
{
    sync_wait *wait = arg;
    wait->poll_in_flight = false;
    if (error != NULL) {
        if (result != NULL && wait->progress_readable) {
            /* Usually: the role may not read pg_replication_slots. Notifications alone
             * still work. */
            log_warning("cannot read the position of slot \"%s\" (%s); relying on %s notifications",
                        wait->slot_name, error, SYNC_CHANNEL);
            wait->progress_readable = false;
        }
        return;
    }
    if (PQntuples(result) == 1 && !PQgetisnull(result, 0, 0))
        advance(wait, PQgetvalue(result, 0, 0), false);
}

static void listen_cb(void *arg, const PGresult *result, const char *error)
{
    sync_wait *wait = arg;
    if (error != NULL) {
        log_warning("LISTEN %s failed: %s", SYNC_CHANNEL, error);
        set_listening(wait, false);
        return;
    }
    set_listening(wait, true);
    log_debug("listening on %s", SYNC_CHANNEL);
}

static void query_progress(sync_wait *wait, unsigned flags)
{
    const char *params[] = {wait->slot_name};
    wait->poll_in_flight = true;
    /* The slot's confirmed position, not the origin's progress: the origin advances with
     * tvsync-cdc's commit record, a moment before that commit is visible to other
     * sessions, and a read then would miss the write it waited for. tvsync-cdc confirms
     * a position once its commit returned, and confirms the end of WAL once it has
     * nothing pending (so waits for a position past the last source transaction end).
     * A slot on a standby ([cdc] decode_url) has no row here: then the position of the
     * newest visible batch, committed with its progress (visible, so never early; a wait
     * past the last source transaction ends by its notification or its timeout). */
    db_pool_submit(wait->pool,
                   "SELECT coalesce((SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1), "
                   "(SELECT source_lsn FROM tvsync.sync_log ORDER BY id DESC LIMIT 1))::text",
                   1, params, flags, progress_cb, wait);
}

static void connect_cb(void *arg)
{
    sync_wait *wait = arg;
    set_listening(wait, false);
    wait->progress_readable = true;
    /* Both go ahead of anything queued, LISTEN first (pushed last): from then on no
     * notification is missed, and the progress read covers the time before. */
    query_progress(wait, DB_POOL_FRONT);
    db_pool_submit(wait->pool, "LISTEN " SYNC_CHANNEL, 0, NULL, DB_POOL_FRONT, listen_cb, wait);
}

static void poll_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    sync_wait *wait = arg;
    /* Stopped first, then checked: a follower publishes its waiter before it reads the
     * flag, so either it sees the timer stopped and arms it, or this sees the waiter. */
    atomic_store(&wait->hub->polling, false);
    if (!anyone_waiting(wait))
        return;
    atomic_store(&wait->hub->polling, true);
    if (wait->progress_readable && !wait->poll_in_flight)
        query_progress(wait, 0);
    struct timeval interval = {0, SYNC_POLL_INTERVAL_MS * 1000};
    evtimer_add(wait->poll_timer, &interval);
}

/* Polling starts with the first waiter, anywhere in the process (the leader's timer may be
 * armed from a follower's thread: libevent's locks make that safe). Caller holds the
 * hub's lock or runs on the leader's loop. */
static void start_polling(sync_wait *leader)
{
    atomic_store(&leader->hub->polling, true);
    if (!evtimer_pending(leader->poll_timer, NULL)) {
        struct timeval interval = {0, SYNC_POLL_INTERVAL_MS * 1000};
        evtimer_add(leader->poll_timer, &interval);
    }
}

static void followers_stopped_cb(evutil_socket_t fd, short what, void *arg)
{
    sync_wait *wait = arg;
    if (wait->followers_stopped_fn && sync_wait_followers_stopped(wait))
        wait->followers_stopped_fn(wait->followers_stopped_arg);
}

sync_wait *sync_wait_new(struct event_base *base, sync_hub *hub, const char *url, const char *slot_name,
                         int connect_timeout_ms)
{
    sync_wait *wait = alloc_calloc(1, sizeof *wait);
    wait->base = base;
    wait->hub = hub;
    atomic_init(&wait->shared_pending, 0);
    pthread_mutex_lock(&hub->lock);
    wait->leader = hub->leader == NULL;
    if (wait->leader) {
        hub->leader = wait;
    } else {
        if (hub->follower_count == hub->follower_capacity) {
            hub->follower_capacity = hub->follower_capacity ? hub->follower_capacity * 2 : 8;
            hub->followers = alloc_array(hub->followers, hub->follower_capacity, sizeof *hub->followers);
        }
        hub->followers[hub->follower_count++] = wait;
    }
    pthread_mutex_unlock(&hub->lock);
    if (!wait->leader) {
        wait->wake = alloc_check(event_new(base, -1, 0, wake_cb, wait));
        return wait;
    }
    /* The name must be tvsync-cdc's: operators see here which one is followed. */
    log_info("read your writes: following %s and the confirmed position of slot \"%s\" ([slot] name)",
             SYNC_CHANNEL, slot_name);
    wait->slot_name = alloc_strdup(slot_name);
    wait->progress_readable = true;
    wait->poll_timer = alloc_check(evtimer_new(base, poll_timer_cb, wait));
    wait->followers_stopped_event = alloc_check(event_new(base, -1, 0, followers_stopped_cb, wait));
    wait->pool = db_pool_new(base, url, "tvsync-server listener", 1, connect_timeout_ms, NULL, 0);
    db_pool_set_notify(wait->pool, notify_cb, wait);
    db_pool_set_connect(wait->pool, connect_cb, wait);
    return wait;
}

void sync_wait_free(sync_wait *wait)
{
    if (wait == NULL)
        return;
    while (wait->head != NULL) {
        sync_waiter *waiter = wait->head;
        waiter_unlink(waiter);
        waiter->fn(waiter->arg, false);
        free(waiter);
    }
    sync_hub *hub = wait->hub;
    pthread_mutex_lock(&hub->lock);
    if (hub->leader == wait) {
        hub->leader = NULL;
        atomic_store(&hub->listening, false);
    }
    for (size_t i = 0; i < hub->follower_count; i++)
        if (hub->followers[i] == wait) {
            hub->followers[i] = hub->followers[--hub->follower_count];
            break;
        }
    pthread_mutex_unlock(&hub->lock);
    if (wait->leader) {
        db_pool_free(wait->pool);
        event_free(wait->poll_timer);
        event_free(wait->followers_stopped_event);
        free(wait->slot_name);
    } else {
        event_free(wait->wake);
    }
    free(wait);
}

void sync_wait_follower_running(sync_wait *wait, bool running)
{
    if (wait->leader)
        return;
    sync_hub *hub = wait->hub;
    if (running) {
        atomic_fetch_add(&hub->running_followers, 1);
        return;
    }
    if (atomic_fetch_sub(&hub->running_followers, 1) == 1) {
        pthread_mutex_lock(&hub->lock);
        if (hub->leader)
            event_active(hub->leader->followers_stopped_event, EV_TIMEOUT, 0);
        pthread_mutex_unlock(&hub->lock);
    }
}

void sync_wait_on_followers_stopped(sync_wait *wait, void (*fn)(void *arg), void *arg)
{
    wait->followers_stopped_fn = fn;
    wait->followers_stopped_arg = arg;
}

bool sync_wait_followers_stopped(const sync_wait *wait)
{
    return !wait->leader || atomic_load(&wait->hub->running_followers) == 0;
}


static void waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    sync_waiter *waiter = arg;
    waiter_unlink(waiter);
    waiter->fn(waiter->arg, false);
    free(waiter);
}

void sync_wait_until(sync_wait *wait, lsn_t message, lsn_t bound, int timeout_ms, sync_wait_fn fn, void *arg)
{
    if (bound <= sync_wait_applied(wait) || recent_contains(wait->hub, message)) {
        fn(arg, true);
        return;
    }
    sync_waiter *waiter = alloc_calloc(1, sizeof *waiter);
    waiter->owner = wait;
    waiter->message = message;
    waiter->bound = bound;
    waiter->fn = fn;
    waiter->arg = arg;
    waiter->timer = alloc_check(evtimer_new(wait->base, waiter_timeout_cb, waiter));
    struct timeval timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(waiter->timer, &timeout);
    waiter->next = wait->head;
    if (wait->head)
        wait->head->prev = waiter;
    wait->head = waiter;
    set_pending(wait, wait->pending + 1);
    if (wait->leader) {
        start_polling(wait);
        return;
    }
    /* Published the waiter, now read the LSN and the messages: if the leader moved them
     * before it could see the waiter, release from this loop. */
    if (atomic_load(&wait->hub->applied) >= bound)
        event_active(wait->wake, EV_TIMEOUT, 0);
    if (recent_contains(wait->hub, message)) {
        waiter->matched = true;
        event_active(wait->wake, EV_TIMEOUT, 0);
    }
    sync_hub *hub = wait->hub;
    if (!atomic_load(&hub->polling)) {   /* usually armed already: no lock on this path */
        pthread_mutex_lock(&hub->lock);
        if (hub->leader)
            start_polling(hub->leader);
        pthread_mutex_unlock(&hub->lock);
    }
}

lsn_t sync_wait_applied(const sync_wait *wait)
{
    lsn_t shared = atomic_load(&wait->hub->applied);
    return shared > wait->applied ? shared : wait->applied;
}

bool sync_wait_listening(const sync_wait *wait)
{
    return atomic_load(&wait->hub->listening);
}

int sync_wait_pending(const sync_wait *wait)
{
    return wait->pending;
}

lsn_t sync_wait_token(const sync_wait *wait, lsn_t message, lsn_t bound)
{
    lsn_t origin = atomic_load(&wait->hub->origin);
    if (origin >= bound || recent_contains(wait->hub, message))
        return origin;
    return sync_wait_applied(wait);
}
