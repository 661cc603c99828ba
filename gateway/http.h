/* HTTP/1.1 requests and responses over lws, for every connection kind: the checks a request
 * must pass before anyone reads its body (method, framing, size), the body with its limits
 * (size, minimum rate, chunked decoding), and responses.
 *
 * Responses are written at once, in the callback that decides them, and the transaction is
 * completed there: lws 4.1 keeps re-offering bytes that follow an unanswered request (pipelined
 * requests) without ever calling WRITEABLE, which spun the loop at 100 % CPU. lws keeps what
 * the socket does not take and sends it first.
 *
 * Thread: lws service thread only. */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include "transport.h"

/* A new request on `pss` (headers complete). Resets the request state, reads the method, URI,
 * peer and framing headers, and answers what fails the checks (405, 411, 400, 413).
 * Returns 1 when it answered, 0 to go on routing, -1 to close. */
int cg_http_begin(cg_pss_t *pss);
/* Body bytes. Returns 0 for more, 1 when the body is complete in pss->in, -1 to close; answers
 * 413 and 400 itself. A body that cannot be JSON (its first non-blank byte is not '[' or '{')
 * is answered 400 and the connection closed: that is also how the lws 4.1.6 pipelined-POST
 * loop shows itself (http.c). */
int cg_http_body(cg_pss_t *pss, const void *in, size_t len);
/* The body ended as lws sees it (Content-Length reached). 1 when complete, 0 otherwise, -1 to
 * close (a body of white space only was answered 400). */
int cg_http_body_end(cg_pss_t *pss);

/* Writes status, headers and the body in pss->resp, and completes the transaction. -1 when the
 * connection must close. */
int cg_http_respond(cg_pss_t *pss, int status, const char *content_type);
/* A JSON Bayeux error array `[{"successful":false,"error":E}]` with `status`. */
int cg_http_respond_error(cg_pss_t *pss, int status, const char *bayeux_error);
/* A short text body (or none for HEAD), e.g. for 404/405/411. */
int cg_http_respond_text(cg_pss_t *pss, int status, const char *text);

/* Streaming: status and headers of a chunked response; then pieces; then the end. Each returns
 * -1 when the connection must close. */
int cg_http_stream_begin(cg_pss_t *pss, const char *content_type);
int cg_http_stream_write(cg_pss_t *pss, cg_buf_t *chunked_bytes);
int cg_http_stream_end(cg_pss_t *pss);

/* The request is waiting for something other than the client (a held connect): no lws
 * timeout, off the slow-body watch. */
void cg_http_hold(cg_pss_t *pss);
/* Tick: answers 408 to requests whose body is slower than limits.body_min_rate once
 * limits.body_timeout_ms has passed. Looks at a bounded number per call. */
void cg_http_check_slow(cg_env_t *env);
/* The request or connection is gone: off the lists, buffers freed. */
void cg_http_closed(cg_pss_t *pss);

#endif
