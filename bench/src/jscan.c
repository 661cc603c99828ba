#include "jscan.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

const char *cg_jscan_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at the opening quote; returns past the closing quote */
static const char *skip_string(const char *p, const char *end)
{
    p++;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        /* an odd run of backslashes before the quote escapes it */
        const char *b = q;
        while (b > p && b[-1] == '\\')
            b--;
        if (((q - b) & 1) == 0)
            return q + 1;
        p = q + 1;
    }
}

static const char *skip_value_depth(const char *p, const char *end, int depth);

static const char *skip_container(const char *p, const char *end, int depth)
{
    char close = *p == '{' ? '}' : ']';
    int obj = *p == '{';
    if (depth > MAX_DEPTH)
        return NULL;
    p = cg_jscan_ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (obj) {
            p = cg_jscan_ws(p, end);
            if (p >= end || *p != '"')
                return NULL;
            p = skip_string(p, end);
            if (!p)
                return NULL;
            p = cg_jscan_ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p++;
        }
        p = skip_value_depth(p, end, depth + 1);
        if (!p)
            return NULL;
        p = cg_jscan_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == close)
            return p + 1;
        return NULL;
    }
}

static const char *skip_value_depth(const char *p, const char *end, int depth)
{
    p = cg_jscan_ws(p, end);
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"':
        return skip_string(p, end);
    case '{':
    case '[':
        return skip_container(p, end, depth);
    default:
        /* number, true, false, null: up to a delimiter */
        while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
               *p != '\r' && *p != '\t')
            p++;
        return p;
    }
}

const char *cg_jscan_skip_value(const char *p, const char *end)
{
    return skip_value_depth(p, end, 0);
}

int cg_jscan_obj_next(const char **it, const char *end, cg_span_t *key, cg_span_t *val)
{
    const char *p = *it;
    p = cg_jscan_ws(p, end);
    if (p >= end)
        return -1;
    if (*p == '{' || *p == ',') {
        p = cg_jscan_ws(p + 1, end);
    } else if (*p == '}') {
        return 0;
    } else {
        return -1;
    }
    if (p < end && *p == '}')
        return 0;
    if (p >= end || *p != '"')
        return -1;
    const char *k = p + 1;
    p = skip_string(p, end);
    if (!p)
        return -1;
    key->p = k;
    key->n = (size_t)(p - 1 - k);
    p = cg_jscan_ws(p, end);
    if (p >= end || *p != ':')
        return -1;
    p = cg_jscan_ws(p + 1, end);
    const char *v = p;
    p = cg_jscan_skip_value(p, end);
    if (!p)
        return -1;
    val->p = v;
    val->n = (size_t)(p - v);
    *it = p;
    return 1;
}

int cg_jscan_arr_next(const char **it, const char *end, cg_span_t *val)
{
    const char *p = cg_jscan_ws(*it, end);
    if (p >= end)
        return 0; /* after a lone object, or empty input */
    if (*p == '[' || *p == ',') {
        p = cg_jscan_ws(p + 1, end);
        if (p < end && *p == ']')
            return 0;
    } else if (*p == ']') {
        return 0;
    } else if (*p == '{') {
        /* a lone object: yield it, then report the end */
        const char *q = cg_jscan_skip_value(p, end);
        if (!q)
            return -1;
        val->p = p;
        val->n = (size_t)(q - p);
        *it = end; /* next call: p >= end -> treat as end below */
        return 1;
    } else {
        return -1;
    }
    const char *q = cg_jscan_skip_value(p, end);
    if (!q)
        return -1;
    val->p = p;
    val->n = (size_t)(q - p);
    *it = q;
    return 1;
}

int cg_jscan_get(cg_span_t obj, const char *name, size_t n, cg_span_t *out)
{
    const char *it = obj.p, *end = obj.p + obj.n;
    cg_span_t k, v;
    if (!obj.p || obj.n == 0 || *cg_jscan_ws(obj.p, end) != '{')
        return 0;
    it = cg_jscan_ws(obj.p, end);
    while (cg_jscan_obj_next(&it, end, &k, &v) == 1) {
        if (k.n == n && memcmp(k.p, name, n) == 0) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

int cg_jscan_path_num(cg_span_t obj, const char *path, double *out)
{
    cg_span_t cur = obj;
    const char *seg = path;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        cg_span_t v;
        if (!cg_jscan_get(cur, seg, n, &v))
            return 0;
        if (!dot) {
            char tmp[40];
            const char *s = v.p;
            size_t len = v.n;
            if (len > 0 && *s == '"') { /* numeric string, e.g. "1700000000123456" */
                s++;
                len = len >= 2 ? len - 2 : 0;
            }
            if (len == 0 || len >= sizeof(tmp))
                return 0;
            /* fast path: plain non-negative integer (the usual us timestamp) */
            uint64_t acc = 0;
            size_t i = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9')
                acc = acc * 10 + (uint64_t)(s[i++] - '0');
            if (i == len) {
                *out = (double)acc;
                return 1;
            }
            memcpy(tmp, s, len);
            tmp[len] = 0;
            char *e;
            double d = strtod(tmp, &e);
            if (e == tmp)
                return 0;
            *out = d;
            return 1;
        }
        cur = v;
        seg = dot + 1;
    }
}

int cg_jscan_str(cg_span_t v, cg_span_t *out)
{
    if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"')
        return 0;
    out->p = v.p + 1;
    out->n = v.n - 2;
    return 1;
}
