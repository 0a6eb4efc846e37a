/* http_admission: connection admission state shared by tvsync-server's HTTP servers (see
 * http_admission.h): counters behind the summary line, the descriptor limit, the bare 503. */
#include <config.h>

#include "server/http_admission.h"
#include "server/http.h"
#include "common/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_DESCRIPTOR_MARGIN 256 /* descriptors besides client connections: pool, listeners, logs */

const char http_admission_refused_message[] =
    "Too many connections: tvsync-server is at its limit (server.max_connections, or its file descriptors) "
    "and every connection is busy. Retry after a second.";

void http_admission_count(http_admission *admission, http_admission_event event, prom_metric *metric)
{
    switch (event) {
    case HTTP_ADMISSION_REFUSED_NO_DESCRIPTOR:
        atomic_fetch_add_explicit(&admission->out_of_descriptors_unlogged, 1, memory_order_relaxed);
        /* fall through */
    case HTTP_ADMISSION_REFUSED:
        atomic_fetch_add_explicit(&admission->refused_unlogged, 1, memory_order_relaxed);
        break;
    case HTTP_ADMISSION_IDLE_CLOSED:
        atomic_fetch_add_explicit(&admission->idle_closed_unlogged, 1, memory_order_relaxed);
        break;
    case HTTP_ADMISSION_ACCEPT_PAUSED:
        atomic_fetch_add_explicit(&admission->accept_paused_unlogged, 1, memory_order_relaxed);
        break;
    }
    if (metric != NULL)
        prom_inc(metric);
}

void http_admission_log_summary(http_admission *admission, int max_connections)
{
    long long refused = atomic_exchange(&admission->refused_unlogged, 0);
    long long idle_closed = atomic_exchange(&admission->idle_closed_unlogged, 0);
    long long out_of_descriptors = atomic_exchange(&admission->out_of_descriptors_unlogged, 0);
    long long paused = atomic_exchange(&admission->accept_paused_unlogged, 0);
    if (out_of_descriptors > 0 || paused > 0)
        log_warning("http: the process ran out of file descriptors in the last %d s: %lld connections refused "
                    "(503, Retry-After: 1), %lld of them for lack of a descriptor, accepting paused %lld times, "
                    "%lld idle connections closed to admit others; raise LimitNOFILE= (ulimit -n) or lower "
                    "server.max_connections (%d)",
                    HTTP_ADMISSION_LOG_SECONDS, refused, out_of_descriptors, paused, idle_closed, max_connections);
    else if (refused > 0)
        log_warning("http: refused %lld connections over server.max_connections (%d) in the last %d s "
                    "(503, Retry-After: 1), all admitted ones being busy; %lld idle connections were closed to "
                    "admit others; raise server.max_connections if the machine has room",
                    refused, max_connections, HTTP_ADMISSION_LOG_SECONDS, idle_closed);
    else if (idle_closed > 0)
        log_info("http: closed %lld idle keep-alive connections in the last %d s to admit new clients "
                 "(server.max_connections = %d)",
                 idle_closed, HTTP_ADMISSION_LOG_SECONDS, max_connections);
}

/* A request still on its way when fd is closed meets a reset, but the answer that arrived
 * before it stays readable on Linux; a client that waited in the backlog has sent its
 * request already, and the recv loop takes it so the close is an orderly one. */
void http_admission_refuse_at_once(int fd)
{
    static char response[512];
    static size_t response_length;
    static atomic_bool response_ready;
    if (!atomic_load(&response_ready)) {
        /* Same bytes for every thread: a race only writes them twice. */
        size_t body_length;
        char *body = http_error_body(http_admission_refused_message, &body_length);
        int n = snprintf(response, sizeof response,
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
                         "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
                         body_length, body);
        free(body);
        response_length = n > 0 && (size_t) n < sizeof response ? (size_t) n : 0;
        atomic_store(&response_ready, true);
    }
    if (send(fd, response, response_length, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* the client is gone: nothing to tell it */
    }
    shutdown(fd, SHUT_WR);
    char scrap[4096];
    while (recv(fd, scrap, sizeof scrap, MSG_DONTWAIT) > 0)
        ;
    close(fd);
}

/* The default soft limit (1024) is below the default max_connections plus the pool; the
 * hard limit is what the administrator granted. */
void http_admission_raise_descriptor_limit(int max_connections)
{
    static atomic_bool done;
    if (atomic_exchange(&done, true))
        return;
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    if (limit.rlim_cur != RLIM_INFINITY && (limit.rlim_max == RLIM_INFINITY || limit.rlim_cur < limit.rlim_max)) {
        struct rlimit raised = {limit.rlim_max, limit.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit.rlim_cur = limit.rlim_max;
    }
    rlim_t needed = (rlim_t) max_connections + HTTP_DESCRIPTOR_MARGIN;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed)
        log_warning("http: server.max_connections = %d needs about %llu file descriptors but this process may open "
                    "%llu (RLIMIT_NOFILE): clients past that are refused early; raise LimitNOFILE= in the service "
                    "unit (or ulimit -n) or lower server.max_connections",
                    max_connections, (unsigned long long) needed, (unsigned long long) limit.rlim_cur);
}
