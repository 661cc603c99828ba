/* cg-load hot-path JSON scanner: walks spans of a buffer without allocating
 * or unescaping. Enough to pick a few top-level fields out of Bayeux messages
 * and a numeric timestamp out of message data. All functions take [p, end)
 * and return NULL on malformed or truncated input. */
#ifndef CG_JSCAN_H
#define CG_JSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct cg_span {
    const char *p; /* NULL when absent */
    size_t n;
} cg_span_t;

/* skip one JSON value starting at p (leading whitespace allowed) */
const char *cg_jscan_skip_value(const char *p, const char *end);
const char *cg_jscan_ws(const char *p, const char *end);

/* Iterate the members of the object at p. Call with *it = NULL first;
 * each call fills key (without quotes) and val (raw value span) and returns 1,
 * 0 at the end of the object, -1 on error. */
int cg_jscan_obj_next(const char **it, const char *end, cg_span_t *key, cg_span_t *val);

/* Iterate the elements of an array at p (or a lone value: yields it once). */
int cg_jscan_arr_next(const char **it, const char *end, cg_span_t *val);

/* find member `name` (n bytes) of the object span; 1 found, 0 not */
int cg_jscan_get(cg_span_t obj, const char *name, size_t n, cg_span_t *out);

/* follow a dotted path ("a.b.ts") from an object span to a number; 1 on success */
int cg_jscan_path_num(cg_span_t obj, const char *path, double *out);

/* string value without the quotes (escapes left as is); 1 on success */
int cg_jscan_str(cg_span_t v, cg_span_t *out);

#endif
