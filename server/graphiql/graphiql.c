/* graphiql: the GraphiQL page for tvsync-server, loaded once into memory so that
 * serving it never touches the file system on an event loop. */
#include "config.h"

#include "server/graphiql/graphiql.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/log.h"

#ifndef GRAPHIQL_BUILD_ASSET_DIR
#define GRAPHIQL_BUILD_ASSET_DIR "server/graphiql/assets"
#endif

#define GRAPHIQL_PATH "/graphql"

struct graphiql_page {
    char *html;
    size_t length;
    char etag[24];  /* "\"" 16 hex digits "\"" */
};

static bool graphiql_dir_has_index(const char *dir)
{
    char path[4096];
    struct stat info;
    snprintf(path, sizeof path, "%s/index.html", dir);
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

const char *graphiql_default_asset_dir(void)
{
    if (graphiql_dir_has_index(TVSYNC_PKGDATADIR "/graphiql"))
        return TVSYNC_PKGDATADIR "/graphiql";
    return GRAPHIQL_BUILD_ASSET_DIR;
}

/* FNV-1a: the ETag only has to change when the page does. */
static uint64_t graphiql_hash(const char *data, size_t length)
{
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < length; i++) {
        hash ^= (unsigned char) data[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

graphiql_page *graphiql_page_load(const char *asset_dir)
{
    if (!asset_dir)
        asset_dir = graphiql_default_asset_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", asset_dir);
    FILE *stream = fopen(path, "rb");
    if (!stream) {
        log_error("graphiql: cannot read %s: %s; GraphiQL is disabled", path, strerror(errno));
        return NULL;
    }
    struct stat info;
    if (fstat(fileno(stream), &info) != 0 || !S_ISREG(info.st_mode) || info.st_size == 0) {
        log_error("graphiql: %s is not a page (empty or not a regular file); GraphiQL is disabled", path);
        fclose(stream);
        return NULL;
    }
    graphiql_page *page = alloc_calloc(1, sizeof *page);
    page->length = (size_t) info.st_size;
    page->html = alloc_malloc(page->length);
    size_t got = fread(page->html, 1, page->length, stream);
    bool failed = got != page->length || ferror(stream);
    fclose(stream);
    if (failed) {
        log_error("graphiql: cannot read %s: short read; GraphiQL is disabled", path);
        graphiql_page_free(page);
        return NULL;
    }
    snprintf(page->etag, sizeof page->etag, "\"%016" PRIx64 "\"", graphiql_hash(page->html, page->length));
    log_debug("graphiql: page loaded from %s (%zu bytes)", path, page->length);
    return page;
}

void graphiql_page_free(graphiql_page *page)
{
    if (!page)
        return;
    free(page->html);
    free(page);
}

/* The q-value the Accept list gives to media_type when it names it
 * explicitly, -1 when it does not. Wildcards do not count: a browser sends
 * "*\/\*" too, and only an explicit text/html means "a page, please". */
static double graphiql_accept_quality(const char *accept, const char *media_type)
{
    size_t type_length = strlen(media_type);
    double best = -1.0;
    const char *cursor = accept;
    while (*cursor) {
        const char *end = strchr(cursor, ',');
        if (!end)
            end = cursor + strlen(cursor);
        const char *type = cursor;
        while (type < end && (*type == ' ' || *type == '\t'))
            type++;
        const char *type_end = type;
        while (type_end < end && *type_end != ';' && *type_end != ' ' && *type_end != '\t')
            type_end++;
        if ((size_t) (type_end - type) == type_length && strncasecmp(type, media_type, type_length) == 0) {
            double quality = 1.0;
            for (const char *parameter = type_end; parameter < end; parameter++) {
                if (*parameter != ';')
                    continue;
                const char *name = parameter + 1;
                while (name < end && (*name == ' ' || *name == '\t'))
                    name++;
                if (end - name >= 2 && (name[0] == 'q' || name[0] == 'Q') && name[1] == '=')
                    quality = strtod(name + 2, NULL);
            }
            if (quality > best)
                best = quality;
        }
        cursor = *end ? end + 1 : end;
    }
    return best;
}

bool graphiql_accept_prefers_html(const char *accept)
{
    if (!accept)
        return false;
    double html = graphiql_accept_quality(accept, "text/html");
    if (html <= 0.0)
        return false;
    double json = graphiql_accept_quality(accept, "application/json");
    double graphql_json = graphiql_accept_quality(accept, "application/graphql-response+json");
    return html >= json && html >= graphql_json;
}

/* If-None-Match: a list of ETags, or "*". */
static bool graphiql_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match)
        return false;
    return strstr(if_none_match, etag) != NULL || strcmp(if_none_match, "*") == 0;
}

bool graphiql_serve(http_request *request, const graphiql_page *page)
{
    if (!page || !request)
        return false;
    if (!http_request_method_is(request, "GET") && !http_request_method_is(request, "HEAD"))
        return false;
    if (strcmp(http_request_path(request), GRAPHIQL_PATH) != 0)
        return false;
    if (!graphiql_accept_prefers_html(http_request_header(request, "Accept")))
        return false;

    /* The same URL answers JSON to other clients: caches must key on Accept,
     * and revalidate (the page is large; the ETag makes that a 304). */
    http_header headers[] = {
        {"Vary", "Accept"},
        {"Cache-Control", "no-cache"},
        {"ETag", page->etag},
        {"X-Content-Type-Options", "nosniff"},
    };
    if (graphiql_etag_matches(http_request_header(request, "If-None-Match"), page->etag)) {
        http_reply(request, 304, "Not Modified", NULL, headers, 3, NULL, 0);
        return true;
    }
    /* Written from the page itself; copied only when the socket does not take it at once. */
    http_reply(request, 200, "OK", "text/html; charset=utf-8", headers, 4, page->html, page->length);
    return true;
}

bool graphiql_serve_hook(http_request *request, void *arg)
{
    return graphiql_serve(request, arg);
}
