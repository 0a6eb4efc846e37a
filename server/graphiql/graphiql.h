/* graphiql: serves the GraphiQL page (GET /graphql with Accept: text/html) and its
 * assets (GET /graphiql/NAME) from files loaded into memory once, at start. */
#ifndef TVSYNC_SERVER_GRAPHIQL_H
#define TVSYNC_SERVER_GRAPHIQL_H

#include <stdbool.h>

#include <event2/http.h>

/* The page and its assets, immutable once loaded: one instance may be shared
 * by every worker thread. */
typedef struct graphiql_assets graphiql_assets;

/* The folder graphiql_assets_load uses when given NULL: the installed
 * $(pkgdatadir)/graphiql when it holds index.html, else the build tree's
 * server/graphiql/assets (so a server run from the build tree finds them). */
const char *graphiql_default_asset_dir(void);

/* Reads index.html and the asset files (graphiql.min.js, graphiql.min.css,
 * react.production.min.js, react-dom.production.min.js) from asset_dir, or
 * from graphiql_default_asset_dir() when asset_dir is NULL. A missing
 * index.html is an error (logged with the path, NULL returned); a missing
 * asset is served as 404. The caller owns the result (graphiql_assets_free)
 * and must keep it alive until every request served from it has completed. */
graphiql_assets *graphiql_assets_load(const char *asset_dir);
void graphiql_assets_free(graphiql_assets *assets);

/* True when an Accept header value asks for HTML at least as much as for a
 * GraphQL JSON response (text/html named explicitly, with a q-value >= that of
 * application/graphql-response+json and application/json). NULL: false. */
bool graphiql_accept_prefers_html(const char *accept);

/* Answers the request when it is GraphiQL's: GET or HEAD of /graphql whose
 * Accept prefers HTML (the page), or of /graphiql/NAME (an asset; 404 for an
 * unknown NAME). Returns true when a reply was sent, false when the request is
 * not GraphiQL's and the caller must handle it (nothing was sent). assets may
 * be NULL (GraphiQL disabled): then it always returns false. Runs on the
 * request's event loop and never blocks. */
bool graphiql_serve(struct evhttp_request *request, const graphiql_assets *assets);

#endif
