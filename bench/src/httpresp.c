#include "httpresp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *find_crlfcrlf(const char *p, size_t n)
{
    const char *end = p + n;
    while (n >= 4) {
        const char *q = memchr(p, '\r', n - 3);
        if (!q)
            return NULL;
        if (q[1] == '\n' && q[2] == '\r' && q[3] == '\n')
            return q;
        n = (size_t)(end - q - 1);
        p = q + 1;
    }
    return NULL;
}

static void copy_val(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

long cg_http_head_parse(const char *p, size_t n, size_t max_head, cg_http_head_t *h)
{
    const char *e = find_crlfcrlf(p, n);
    if (!e)
        return n > max_head ? -1 : 0;
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    if (e - p < 12 || memcmp(p, "HTTP/1.", 7) != 0)
        return -1;
    h->status = atoi(p + 9);
    const char *line = memchr(p, '\n', (size_t)(e - p));
    while (line && line < e) {
        line++;
        const char *eol = memchr(line, '\r', (size_t)(e + 2 - line));
        if (!eol)
            break;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            size_t kn = (size_t)(colon - line);
            const char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t vn = (size_t)(eol - v);
            if (kn == 14 && strncasecmp(line, "content-length", 14) == 0) {
                h->content_length = strtoll(v, NULL, 10);
            } else if (kn == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
                h->chunked = vn >= 7 && strncasecmp(v, "chunked", 7) == 0;
            } else if (kn == 10 && strncasecmp(line, "connection", 10) == 0) {
                h->close = vn >= 5 && strncasecmp(v, "close", 5) == 0;
            } else if (kn == 20 && strncasecmp(line, "sec-websocket-accept", 20) == 0) {
                copy_val(h->accept, sizeof(h->accept), v, vn);
            } else if (kn == 10 && strncasecmp(line, "set-cookie", 10) == 0 && vn > 15 &&
                       strncmp(v, "BAYEUX_BROWSER=", 15) == 0) {
                const char *semi = memchr(v, ';', vn);
                copy_val(h->cookie, sizeof(h->cookie), v, semi ? (size_t)(semi - v) : vn);
            }
        }
        line = eol + 1;
    }
    return (long)(e + 4 - p);
}

long cg_http_chunk_line(const char *p, size_t n, unsigned long long *size)
{
    const char *nl = memchr(p, '\n', n);
    if (!nl)
        return n > 64 ? -1 : 0;
    char *endp;
    unsigned long long v = strtoull(p, &endp, 16);
    if (endp == p)
        return -1;
    *size = v;
    return (long)(nl + 1 - p);
}
