/* Decoder for HTTP/1.1 chunked request bodies. lws 4.1 hands a chunked body to the server
 * undecoded and never signals its end, and Node's HTTP clients (cometd-nodejs-client among
 * them) send every POST that way. */
#ifndef CG_CHUNKED_H
#define CG_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct cg_chunked {
    int state;
    uint64_t left; /* bytes of chunk data still expected */
    unsigned digits;
    unsigned line; /* length of the current trailer line */
} cg_chunked_t;

#define CG_CHUNKED_MORE 0
#define CG_CHUNKED_DONE 1
#define CG_CHUNKED_ERROR (-1)
#define CG_CHUNKED_TOO_BIG (-2)

void cg_chunked_init(cg_chunked_t *c);
/* Decodes `len` bytes, appending chunk data to `out` without letting it grow past `max`.
 * *used tells how many input bytes were consumed (less than len only when DONE: the rest
 * belongs to the next request). */
int cg_chunked_feed(cg_chunked_t *c, const char *in, size_t len, cg_buf_t *out, size_t max,
                    size_t *used);

#endif
