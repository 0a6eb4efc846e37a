/* worker: one tvsync-server thread: its own event base, an HTTP server (server/http.h) on a SO_REUSEPORT socket,
 * a database pool and a LISTEN connection; it answers /graphql, /health and /metrics. */
#ifndef TVSYNC_SERVER_WORKER_H
#define TVSYNC_SERVER_WORKER_H

#include <stdbool.h>

#include "server/app.h"
#include "server/status.h"

typedef struct worker worker;

/* Binds host:port with SO_REUSEPORT (port 0: a free port; read it back with
 * worker_port and give it to the next workers) and prepares the loop; does not start the
 * thread. server.max_connections counts the connections of all workers together
 * (app.admission). NULL on error (logged, naming the address). */
worker *worker_new(app *server, int index, int worker_count, const char *host, int port);
int worker_port(const worker *w);
/* Starts the thread. */
bool worker_start(worker *w);
/* Asks the worker to stop accepting and to exit once its in-flight requests are answered
 * (thread-safe). */
void worker_drain(worker *w);
/* Adds this worker's figures to status (thread-safe; the pool, in-flight and sync-wait
 * figures are those of the worker's last stats tick, at most a second old). */
void worker_add_status(worker *w, server_status *status);
/* Waits for the thread and frees the worker. */
void worker_join_free(worker *w);

#endif
