/* Static files from static_dir (the demo pages and the browser client). Files are read and
 * answered in one response, like every other, so a request pipelined behind a file waits its
 * turn instead of spinning the loop; a path that resolves outside static_dir (a symlink, a
 * "..") is never served. */
#include "http.h"
#include "log.h"
#include "transport.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STATIC_FILE (16 * 1024 * 1024)

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".ts", "text/plain; charset=utf-8"},
        {".md", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (!strcmp(dot, types[i].ext))
                return types[i].type;
    return "application/octet-stream";
}

/* Reads the file into pss->resp; 0, or the HTTP status to answer instead. */
static int load(cg_pss_t *pss, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 404;
    struct stat st;
    int status = 0;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        status = 404;
    } else if (st.st_size > MAX_STATIC_FILE) {
        status = 404;
    } else {
        cg_buf_reset(&pss->resp);
        size_t want = (size_t)st.st_size;
        cg_buf_reserve(&pss->resp, want);
        size_t got = 0;
        while (got < want) {
            ssize_t n = read(fd, cg_buf_data(&pss->resp) + got, want - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        pss->resp.len = got;
        status = got == want ? 0 : 500;
    }
    close(fd);
    return status;
}

static int static_request(cg_pss_t *pss)
{
    const char *root = pss->env->static_root;
    if (!root[0])
        return cg_http_respond_text(pss, 404, "not found");
    if (pss->method == CG_METHOD_OPTIONS) {
        cg_buf_reset(&pss->resp);
        return cg_http_respond(pss, 204, "text/plain");
    }
    if (pss->method != CG_METHOD_GET && pss->method != CG_METHOD_HEAD)
        return cg_http_respond_text(pss, 405, "method not allowed");
    const char *uri = pss->uri;
    if (uri[0] != '/' || strstr(uri, "..") || strchr(uri, '\\'))
        return cg_http_respond_text(pss, 404, "not found");
    char path[PATH_MAX + 600], real[PATH_MAX];
    size_t ulen = strlen(uri);
    snprintf(path, sizeof(path), "%s%s%s", root, uri, uri[ulen - 1] == '/' ? "index.html" : "");
    if (!realpath(path, real))
        return cg_http_respond_text(pss, 404, "not found");
    size_t rlen = strlen(root);
    if (strncmp(real, root, rlen) || real[rlen] != '/') {
        cg_log_limited(&pss->env->http_limit, CG_LOG_WARN, "static",
                       "%s %s: resolves outside static_dir: refused", pss->peer, uri);
        return cg_http_respond_text(pss, 403, "forbidden");
    }
    int status = load(pss, real);
    if (status)
        return cg_http_respond_text(pss, status, status == 404 ? "not found" : "read error");
    return cg_http_respond(pss, 200, mime_type(real));
}

const cg_handler_t cg_handler_static = {
    .name = "static",
    .request = static_request,
};
