#include "buf.h"

#include "alloc.h"
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_buf_init(cg_buf_t *b, size_t headroom)
{
    b->base = NULL;
    b->headroom = headroom;
    b->len = 0;
    b->cap = 0;
}

void cg_buf_free(cg_buf_t *b)
{
    free(b->base);
    b->base = NULL;
    b->len = b->cap = 0;
}

void cg_buf_reset(cg_buf_t *b)
{
    b->len = 0;
}

void cg_buf_reserve(cg_buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    /* No wrap-around in need, cap * 2 or headroom + cap. Sizes from the network are checked
     * against the configured limits before they get here: a size this large is a bug. */
    CG_ASSERT(extra <= SIZE_MAX / 2 - b->headroom - b->len);
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->base = cg_realloc(b->base, b->headroom + cap);
    b->cap = cap;
}

void cg_buf_append(cg_buf_t *b, const void *p, size_t n)
{
    /* An empty piece may come as (NULL, 0) (an empty WebSocket frame, an empty buffer's data):
     * memcpy with a NULL pointer is undefined even for 0 bytes, and so is NULL + 0. */
    if (!n)
        return;
    cg_buf_reserve(b, n);
    memcpy(b->base + b->headroom + b->len, p, n);
    b->len += n;
}

void cg_buf_append_str(cg_buf_t *b, const char *s)
{
    cg_buf_append(b, s, strlen(s));
}

void cg_buf_printf(cg_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    CG_ASSERT(n >= 0); /* only an invalid format or a result over INT_MAX: bugs */
    cg_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->base + b->headroom + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cg_buf_append_json_string(cg_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    CG_ASSERT(n <= SIZE_MAX - 2);
    cg_buf_reserve(b, n + 2);
    cg_buf_append(b, "\"", 1);
    if (!n) { /* s may be NULL: no arithmetic on it */
        cg_buf_append(b, "\"", 1);
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        cg_buf_append(b, s + run, i - run);
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            esc[2] = 0;
        }
        cg_buf_append_str(b, esc);
        run = i + 1;
    }
    cg_buf_append(b, s + run, n - run);
    cg_buf_append(b, "\"", 1);
}

void cg_buf_consume(cg_buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    if (!n)
        return;
    memmove(b->base + b->headroom, b->base + b->headroom + n, b->len - n);
    b->len -= n;
}
