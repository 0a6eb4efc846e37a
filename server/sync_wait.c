/* sync_wait: the LISTEN tvsync_applied connection of a worker and its waiters. tvsync-cdc
 * NOTIFYs the end LSN of each applied transaction; a waiter is released when it passes its target. */
#include <config.h>

#include "server/sync_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/db_pool.h"

#define SYNC_CHANNEL "tvsync_applied"
/* While someone waits, the origin's progress is also polled this often, in case a
 * notification was lost with a connection. */
#define SYNC_POLL_INTERVAL_MS 200

struct sync_waiter {
    sync_wait *owner;
    sync_waiter *prev, *next;
    lsn_t target;
    struct event *timer;
    sync_wait_fn fn;
    void *arg;
};

struct sync_wait {
    struct event_base *base;
    db_pool *pool;
    char *origin_name;
    lsn_t applied;
    bool listening;
    bool progress_readable;  /* false after the progress query was refused (privileges) */
    bool poll_in_flight;
    struct event *poll_timer;
    sync_waiter *head;
    int pending;
};

static void waiter_unlink(sync_waiter *waiter)
{
    sync_wait *wait = waiter->owner;
    if (waiter->prev)
        waiter->prev->next = waiter->next;
    else
        wait->head = waiter->next;
    if (waiter->next)
        waiter->next->prev = waiter->prev;
    wait->pending--;
    event_free(waiter->timer);
}

static void release_reached(sync_wait *wait)
{
    /* Unlink first: a callback may add or cancel waiters. */
    sync_waiter *ready = NULL;
    for (sync_waiter *waiter = wait->head, *next; waiter; waiter = next) {
        next = waiter->next;
        if (waiter->target <= wait->applied) {
            waiter_unlink(waiter);
            waiter->next = ready;
            ready = waiter;
        }
    }
    while (ready != NULL) {
        sync_waiter *waiter = ready;
        ready = waiter->next;
        waiter->fn(waiter->arg, true);
        free(waiter);
    }
}

static void advance(sync_wait *wait, const char *text)
{
    lsn_t lsn;
    if (text == NULL || !lsn_parse(text, &lsn)) {
        log_warning("ignoring %s notification with payload \"%s\": not an LSN", SYNC_CHANNEL, text ? text : "");
        return;
    }
    if (lsn > wait->applied) {
        wait->applied = lsn;
        log_debug("tvsync-cdc applied up to %s (%d waiting)", text, wait->pending);
        release_reached(wait);
    }
}

static void notify_cb(void *arg, const char *channel, const char *payload)
{
    if (strcmp(channel, SYNC_CHANNEL) == 0)
        advance(arg, payload);
}

static void progress_cb(void *arg, const PGresult *result, const char *error)
{
    sync_wait *wait = arg;
    wait->poll_in_flight = false;
    if (error != NULL) {
        if (result != NULL && wait->progress_readable) {
            /* Usually: the role may not call pg_replication_origin_progress. Notifications
             * alone still work. */
            log_warning("cannot read the progress of origin \"%s\" (%s); relying on %s notifications",
                        wait->origin_name, error, SYNC_CHANNEL);
            wait->progress_readable = false;
        }
        return;
    }
    if (PQntuples(result) == 1 && !PQgetisnull(result, 0, 0))
        advance(wait, PQgetvalue(result, 0, 0));
}

static void listen_cb(void *arg, const PGresult *result, const char *error)
{
    sync_wait *wait = arg;
    if (error != NULL) {
        log_warning("LISTEN %s failed: %s", SYNC_CHANNEL, error);
        wait->listening = false;
        return;
    }
    wait->listening = true;
    log_debug("listening on %s", SYNC_CHANNEL);
}

static void query_progress(sync_wait *wait, unsigned flags)
{
    const char *params[] = {wait->origin_name};
    wait->poll_in_flight = true;
    db_pool_submit(wait->pool, NULL, "SELECT pg_replication_origin_progress($1, false)::text", 1, params,
                   flags, progress_cb, wait);
}

static void connect_cb(void *arg)
{
    sync_wait *wait = arg;
    wait->listening = false;
    wait->progress_readable = true;
    /* Both go ahead of anything queued, LISTEN first (pushed last): from then on no
     * notification is missed, and the progress read covers the time before. */
    query_progress(wait, DB_POOL_FRONT);
    db_pool_submit(wait->pool, NULL, "LISTEN " SYNC_CHANNEL, 0, NULL, DB_POOL_FRONT, listen_cb, wait);
}

static void poll_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    sync_wait *wait = arg;
    if (wait->head == NULL)
        return;
    if (wait->progress_readable && !wait->poll_in_flight)
        query_progress(wait, 0);
    struct timeval interval = {0, SYNC_POLL_INTERVAL_MS * 1000};
    evtimer_add(wait->poll_timer, &interval);
}

sync_wait *sync_wait_new(struct event_base *base, const char *url, const char *origin_name,
                         int connect_timeout_ms)
{
    sync_wait *wait = calloc(1, sizeof *wait);
    if (wait == NULL || (wait->origin_name = strdup(origin_name)) == NULL) {
        fprintf(stderr, "tvsync-server: out of memory\n");
        abort();
    }
    wait->base = base;
    wait->progress_readable = true;
    wait->poll_timer = evtimer_new(base, poll_timer_cb, wait);
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
    db_pool_free(wait->pool);
    event_free(wait->poll_timer);
    free(wait->origin_name);
    free(wait);
}

static void waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    sync_waiter *waiter = arg;
    waiter_unlink(waiter);
    waiter->fn(waiter->arg, false);
    free(waiter);
}

sync_waiter *sync_wait_until(sync_wait *wait, lsn_t target, int timeout_ms, sync_wait_fn fn, void *arg)
{
    if (target <= wait->applied) {
        fn(arg, true);
        return NULL;
    }
    sync_waiter *waiter = calloc(1, sizeof *waiter);
    if (waiter == NULL) {
        fprintf(stderr, "tvsync-server: out of memory\n");
        abort();
    }
    waiter->owner = wait;
    waiter->target = target;
    waiter->fn = fn;
    waiter->arg = arg;
    waiter->timer = evtimer_new(wait->base, waiter_timeout_cb, waiter);
    struct timeval timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(waiter->timer, &timeout);
    waiter->next = wait->head;
    if (wait->head)
        wait->head->prev = waiter;
    wait->head = waiter;
    wait->pending++;
    if (!evtimer_pending(wait->poll_timer, NULL)) {
        struct timeval interval = {0, SYNC_POLL_INTERVAL_MS * 1000};
        evtimer_add(wait->poll_timer, &interval);
    }
    return waiter;
}

void sync_wait_cancel(sync_waiter *waiter)
{
    if (waiter == NULL)
        return;
    waiter_unlink(waiter);
    free(waiter);
}

lsn_t sync_wait_applied(const sync_wait *wait)
{
    return wait->applied;
}

bool sync_wait_listening(const sync_wait *wait)
{
    return wait->listening;
}

int sync_wait_pending(const sync_wait *wait)
{
    return wait->pending;
}
