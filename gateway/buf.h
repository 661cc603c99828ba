/* Growable byte buffer used to assemble responses by copying already-encoded bytes.
 * Optionally keeps `headroom` bytes free before the data (LWS_PRE for lws_write). */
#ifndef CG_BUF_H
#define CG_BUF_H

#include <stddef.h>

typedef struct cg_buf {
    char *base; /* allocation; data starts at base + headroom */
    size_t headroom;
    size_t len;
    size_t cap; /* bytes available after headroom */
} cg_buf_t;

void cg_buf_init(cg_buf_t *b, size_t headroom);
void cg_buf_free(cg_buf_t *b);
static inline char *cg_buf_data(const cg_buf_t *b)
{
    return b->base ? b->base + b->headroom : NULL;
}
/* These cannot fail: out of memory aborts (alloc.h), and so does a size that would wrap around
 * (CG_ASSERT: sizes from the network are checked against limits before they get here).
 * An empty piece may be given as (NULL, 0); cg_buf_data is NULL until the first allocation. */
void cg_buf_reserve(cg_buf_t *b, size_t extra);
void cg_buf_append(cg_buf_t *b, const void *p, size_t n);
void cg_buf_append_str(cg_buf_t *b, const char *s);
void cg_buf_printf(cg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void cg_buf_append_json_string(cg_buf_t *b, const char *s, size_t n);
void cg_buf_reset(cg_buf_t *b);
/* Drops the first n bytes. */
void cg_buf_consume(cg_buf_t *b, size_t n);

#endif
