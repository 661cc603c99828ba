/* cg-load minimal HTTP/1.1 response parsing: status line and the few headers
 * the load tool acts on, plus chunk-size lines. Pure functions, no I/O. */
#ifndef CG_HTTPRESP_H
#define CG_HTTPRESP_H

#include <stddef.h>

typedef struct cg_http_head {
    int status;
    long long content_length; /* -1 when absent */
    int chunked;
    int close;       /* Connection: close */
    char accept[32]; /* Sec-WebSocket-Accept */
    char cookie[64]; /* BAYEUX_BROWSER=value, if set */
} cg_http_head_t;

/* Returns the header block length (through CRLFCRLF) when complete, 0 when
 * more bytes are needed, -1 when malformed or over max_head bytes. */
long cg_http_head_parse(const char *p, size_t n, size_t max_head, cg_http_head_t *h);

/* Parse "HEX[;ext]\r\n". Returns bytes consumed, 0 if incomplete, -1 if bad. */
long cg_http_chunk_line(const char *p, size_t n, unsigned long long *size);

#endif
