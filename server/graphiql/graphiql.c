/* graphiql: the GraphiQL page and assets for tvsync-server, loaded once into
 * memory so that serving them never touches the file system on an event loop. */
#include "config.h"

#include "server/graphiql/graphiql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"

#ifndef GRAPHIQL_BUILD_ASSET_DIR
#define GRAPHIQL_BUILD_ASSET_DIR "server/graphiql/assets"
#endif

#define GRAPHIQL_PAGE_PATH "/graphql"
#define GRAPHIQL_ASSET_PREFIX "/graphiql/"

/* The only files served: a fixed list, so no request path reaches the file system. */
static const struct graphiql_file_kind {
    const char *name;
    const char *content_type;
} graphiql_files[] = {
    {"index.html", "text/html; charset=utf-8"},
    {"graphiql.min.js", "text/javascript; charset=utf-8"},
    {"graphiql.min.css", "text/css; charset=utf-8"},
    {"react.production.min.js", "text/javascript; charset=utf-8"},
    {"react-dom.production.min.js", "text/javascript; charset=utf-8"},
};
#define GRAPHIQL_FILE_COUNT (sizeof graphiql_files / sizeof graphiql_files[0])
#define GRAPHIQL_INDEX 0

struct graphiql_assets {
    struct graphiql_file {
        char *data;     /* NULL when the file was missing */
        size_t length;
    } files[GRAPHIQL_FILE_COUNT];
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

/* Reads a whole file. Returns false with errno set when it cannot. */
static bool graphiql_read_file(const char *path, struct graphiql_file *file)
{
    FILE *stream = fopen(path, "rb");
    if (!stream)
        return false;
    struct stat info;
    if (fstat(fileno(stream), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(stream);
        errno = EINVAL;
        return false;
    }
    size_t length = (size_t) info.st_size;
    char *data = malloc(length ? length : 1);
    if (!data) {
        fputs("tvsync: out of memory\n", stderr);
        abort();
    }
    size_t got = fread(data, 1, length, stream);
    int read_error = ferror(stream);
    fclose(stream);
    if (got != length || read_error) {
        free(data);
        errno = EIO;
        return false;
    }
    file->data = data;
    file->length = length;
    return true;
}

graphiql_assets *graphiql_assets_load(const char *asset_dir)
{
    if (!asset_dir)
        asset_dir = graphiql_default_asset_dir();
    graphiql_assets *assets = calloc(1, sizeof *assets);
    if (!assets) {
        fputs("tvsync: out of memory\n", stderr);
        abort();
    }
    for (size_t i = 0; i < GRAPHIQL_FILE_COUNT; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", asset_dir, graphiql_files[i].name);
        if (graphiql_read_file(path, &assets->files[i]))
            continue;
        if (i == GRAPHIQL_INDEX) {
            log_error("graphiql: cannot read %s: %s; GraphiQL is disabled", path, strerror(errno));
            graphiql_assets_free(assets);
            return NULL;
        }
        log_warning("graphiql: cannot read %s: %s; it will be answered with 404", path, strerror(errno));
    }
    log_debug("graphiql: assets loaded from %s", asset_dir);
    return assets;
}

void graphiql_assets_free(graphiql_assets *assets)
{
    if (!assets)
        return;
    for (size_t i = 0; i < GRAPHIQL_FILE_COUNT; i++)
        free(assets->files[i].data);
    free(assets);
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

static struct evbuffer *graphiql_buffer_new(void)
{
    struct evbuffer *buffer = evbuffer_new();
    if (!buffer) {
        fputs("tvsync: out of memory\n", stderr);
        abort();
    }
    return buffer;
}

static void graphiql_reply_not_found(struct evhttp_request *request, const char *message)
{
    evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type", "text/plain; charset=utf-8");
    struct evbuffer *body = graphiql_buffer_new();
    evbuffer_add_printf(body, "%s\n", message);
    evhttp_send_reply(request, HTTP_NOTFOUND, "Not Found", body);
    evbuffer_free(body);
}

static void graphiql_reply(struct evhttp_request *request, const graphiql_assets *assets, size_t index,
                           bool immutable)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    const struct graphiql_file *file = &assets->files[index];
    if (!file->data) {
        graphiql_reply_not_found(request, "this GraphiQL asset was not built; see server/graphiql/README.md");
        return;
    }
    evhttp_add_header(headers, "Content-Type", graphiql_files[index].content_type);
    evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
    /* The assets' versions are pinned at build time; the page itself follows
     * the server's content negotiation, so caches must key it on Accept. */
    if (immutable) {
        evhttp_add_header(headers, "Cache-Control", "public, max-age=86400");
    } else {
        evhttp_add_header(headers, "Cache-Control", "no-cache");
        evhttp_add_header(headers, "Vary", "Accept");
    }
    struct evbuffer *body = graphiql_buffer_new();
    /* No copy: the assets outlive the request (see graphiql_assets_load). */
    evbuffer_add_reference(body, file->data, file->length, NULL, NULL);
    evhttp_send_reply(request, HTTP_OK, "OK", body);
    evbuffer_free(body);
}

bool graphiql_serve(struct evhttp_request *request, const graphiql_assets *assets)
{
    if (!assets || !request)
        return false;
    enum evhttp_cmd_type command = evhttp_request_get_command(request);
    if (command != EVHTTP_REQ_GET && command != EVHTTP_REQ_HEAD)
        return false;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(request);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path)
        return false;

    if (strcmp(path, GRAPHIQL_PAGE_PATH) == 0) {
        const char *accept = evhttp_find_header(evhttp_request_get_input_headers(request), "Accept");
        if (!graphiql_accept_prefers_html(accept))
            return false;
        graphiql_reply(request, assets, GRAPHIQL_INDEX, false);
        return true;
    }
    if (strncmp(path, GRAPHIQL_ASSET_PREFIX, strlen(GRAPHIQL_ASSET_PREFIX)) != 0)
        return false;
    const char *name = path + strlen(GRAPHIQL_ASSET_PREFIX);
    for (size_t i = 0; i < GRAPHIQL_FILE_COUNT; i++) {
        if (i != GRAPHIQL_INDEX && strcmp(name, graphiql_files[i].name) == 0) {
            graphiql_reply(request, assets, i, true);
            return true;
        }
    }
    graphiql_reply_not_found(request, "no such GraphiQL asset");
    return true;
}
