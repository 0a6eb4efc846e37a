/* graphiql: serves the GraphiQL page for GET /graphql with Accept: text/html, from a
 * self-contained index.html (scripts and styles inlined) loaded into memory once, at start. */
#ifndef TVSYNC_SERVER_GRAPHIQL_H
#define TVSYNC_SERVER_GRAPHIQL_H

#include <stdbool.h>

#include "server/http.h"

/* The page, immutable once loaded: one instance may be shared by every
 * worker thread. */
typedef struct graphiql_page graphiql_page;

/* The folder graphiql_page_load uses when given NULL: the installed
 * $(pkgdatadir)/graphiql when it holds index.html, else the build tree's
 * server/graphiql/assets (so a server run from the build tree finds it). */
const char *graphiql_default_asset_dir(void);

/* Reads asset_dir/index.html (asset_dir NULL: graphiql_default_asset_dir()).
 * NULL when it cannot be read (logged with the path). The caller owns the
 * result (graphiql_page_free) and must keep it alive until every request
 * served from it has completed: replies reference its memory, not a copy. */
graphiql_page *graphiql_page_load(const char *asset_dir);
void graphiql_page_free(graphiql_page *page);

/* True when an Accept header value asks for HTML at least as much as for a
 * GraphQL JSON response (text/html named explicitly, with a q-value >= those of
 * application/graphql-response+json and application/json). NULL: false. */
bool graphiql_accept_prefers_html(const char *accept);

/* Answers the request with the page when it is GET or HEAD of /graphql and its
 * Accept prefers HTML: 200 with the page, or 304 when If-None-Match carries the
 * page's ETag. Returns true when a reply was sent, false when the request is not
 * GraphiQL's (nothing was sent: the caller answers it as GraphQL). page NULL
 * (GraphiQL disabled): always false. Never blocks. */
bool graphiql_serve(http_request *request, const graphiql_page *page);

/* graphiql_serve with the signature of tvsync-server's app.graphiql_serve hook:
 * arg is the graphiql_page *. */
bool graphiql_serve_hook(http_request *request, void *arg);

#endif
