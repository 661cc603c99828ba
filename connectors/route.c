#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cg_format_name(cg_format_t f)
{
    switch (f) {
    case CG_FORMAT_JSON:
        return "json";
    case CG_FORMAT_MSGPACK:
        return "msgpack";
    case CG_FORMAT_TEXT:
        return "text";
    case CG_FORMAT_BYTES:
        return "bytes";
    }
    return "?";
}

static int add_part(cg_template_t *t, cg_tpl_kind_t kind, const char *text, size_t len, int level)
{
    cg_tpl_part_t *p = realloc(t->parts, (t->nparts + 1) * sizeof(*p));
    if (!p)
        return -1;
    t->parts = p;
    cg_tpl_part_t *np = &p[t->nparts];
    memset(np, 0, sizeof(*np));
    np->kind = kind;
    np->level = level;
    if (text) {
        np->text = strndup(text, len);
        if (!np->text)
            return -1;
        np->len = len;
    }
    t->nparts++;
    return 0;
}

/* Appends literal bytes, merging with a previous literal part. */
static int add_literal(cg_template_t *t, const char *s, size_t len)
{
    if (!len)
        return 0;
    if (t->nparts && t->parts[t->nparts - 1].kind == CG_TP_LIT) {
        cg_tpl_part_t *p = &t->parts[t->nparts - 1];
        char *n = realloc(p->text, p->len + len + 1);
        if (!n)
            return -1;
        memcpy(n + p->len, s, len);
        p->len += len;
        n[p->len] = '\0';
        p->text = n;
        return 0;
    }
    return add_part(t, CG_TP_LIT, s, len, 0);
}

static bool path_valid(const char *p, size_t len)
{
    if (!len || p[0] == '.' || p[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '{' || p[i] == '}' || (p[i] == '.' && p[i + 1] == '.'))
            return false;
    return true;
}

int cg_template_compile(cg_template_t *t, const char *s, unsigned allowed, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->source = strdup(s);
    if (!t->source)
        goto nomem;
    const char *p = s;
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            if (add_literal(t, "{", 1))
                goto nomem;
            p += 2;
            continue;
        }
        if (p[0] == '}' && p[1] == '}') {
            if (add_literal(t, "}", 1))
                goto nomem;
            p += 2;
            continue;
        }
        if (*p == '}') {
            snprintf(err, errlen, "unmatched '}' at offset %d (write }} for a literal brace)",
                     (int)(p - s));
            goto fail;
        }
        if (*p != '{') {
            const char *q = p;
            while (*q && *q != '{' && *q != '}')
                q++;
            if (add_literal(t, p, (size_t)(q - p)))
                goto nomem;
            p = q;
            continue;
        }
        const char *close = strchr(p + 1, '}');
        if (!close) {
            snprintf(err, errlen, "unclosed '{' at offset %d", (int)(p - s));
            goto fail;
        }
        const char *name = p + 1;
        size_t nlen = (size_t)(close - name);
        unsigned need;
        int r;
        if (nlen == 3 && !memcmp(name, "key", 3)) {
            need = CG_TPL_KEY;
            r = add_part(t, CG_TP_KEY, NULL, 0, 0);
        } else if (nlen == 5 && !memcmp(name, "topic", 5)) {
            need = CG_TPL_TOPIC;
            r = add_part(t, CG_TP_TOPIC, NULL, 0, 0);
        } else if (nlen == 9 && !memcmp(name, "partition", 9)) {
            need = CG_TPL_PARTITION;
            r = add_part(t, CG_TP_PARTITION, NULL, 0, 0);
        } else if (nlen == 7 && !memcmp(name, "channel", 7)) {
            need = CG_TPL_CHANNEL;
            r = add_part(t, CG_TP_CHANNEL, NULL, 0, 0);
        } else if (nlen > 6 && !memcmp(name, "field.", 6)) {
            if (!path_valid(name + 6, nlen - 6)) {
                snprintf(err, errlen, "bad field path in {%.*s}", (int)nlen, name);
                goto fail;
            }
            need = CG_TPL_FIELD;
            r = add_part(t, CG_TP_FIELD, name + 6, nlen - 6, 0);
        } else if (nlen > 0 && nlen < 4 && strspn(name, "0123456789") >= nlen && name[0] != '0') {
            need = CG_TPL_LEVEL;
            r = add_part(t, CG_TP_LEVEL, NULL, 0, atoi(name));
        } else {
            snprintf(err, errlen, "unknown placeholder {%.*s}", (int)nlen, name);
            goto fail;
        }
        if (r)
            goto nomem;
        if (!(allowed & need)) {
            snprintf(err, errlen, "placeholder {%.*s} cannot be used here", (int)nlen, name);
            goto fail;
        }
        t->uses |= need;
        p = close + 1;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    cg_template_free(t);
    return -1;
}

void cg_template_free(cg_template_t *t)
{
    for (size_t i = 0; i < t->nparts; i++)
        free(t->parts[i].text);
    free(t->parts);
    free(t->source);
    memset(t, 0, sizeof(*t));
}

const json_t *cg_json_path(const json_t *root, const char *path, size_t len)
{
    const json_t *cur = root;
    const char *p = path, *end = path + len;
    while (cur && p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *seg_end = dot ? dot : end;
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_getn(cur, p, (size_t)(seg_end - p));
        p = dot ? dot + 1 : end;
    }
    return cur;
}

/* Characters a channel segment may hold as they are (docs/protocol.md "Channels"), except '%'
 * which we encode so an encoded value decodes unambiguously. */
static bool segment_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("_-.!~()$@:=+", c) != NULL;
}

static int append_value(cg_buf_t *out, const char *s, size_t n, bool segment)
{
    if (!segment) {
        cg_buf_append(out, s, n);
        return 0;
    }
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (segment_char(c)) {
            cg_buf_append(out, &s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            cg_buf_append(out, e, 3);
        }
    }
    return 0;
}

int cg_template_expand(const cg_template_t *t, const cg_tpl_ctx_t *ctx, bool channel_segment,
                       cg_buf_t *out, char *err, size_t errlen)
{
    char num[32];
    for (size_t i = 0; i < t->nparts; i++) {
        const cg_tpl_part_t *p = &t->parts[i];
        const char *v = NULL;
        size_t vn = 0;
        switch (p->kind) {
        case CG_TP_LIT:
            cg_buf_append(out, p->text, p->len);
            continue;
        case CG_TP_KEY:
            if (!ctx->has_key) {
                snprintf(err, errlen, "{key}: the message has no key");
                return CG_TPL_EMISSING;
            }
            v = ctx->key;
            vn = ctx->key_len;
            break;
        case CG_TP_TOPIC:
            v = ctx->topic;
            vn = v ? strlen(v) : 0;
            break;
        case CG_TP_PARTITION:
            vn = (size_t)snprintf(num, sizeof(num), "%d", (int)ctx->partition);
            v = num;
            break;
        case CG_TP_CHANNEL:
            v = ctx->channel;
            vn = v ? strlen(v) : 0;
            break;
        case CG_TP_LEVEL:
            if ((size_t)p->level > ctx->nlevels) {
                snprintf(err, errlen, "{%d}: the topic has only %zu levels", p->level,
                         ctx->nlevels);
                return CG_TPL_EMISSING;
            }
            v = ctx->levels[p->level - 1];
            vn = strlen(v);
            break;
        case CG_TP_FIELD: {
            const json_t *j = ctx->fields ? cg_json_path(ctx->fields, p->text, p->len) : NULL;
            if (json_is_string(j)) {
                v = json_string_value(j);
                vn = json_string_length(j);
            } else if (json_is_integer(j)) {
                vn = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                                      json_integer_value(j));
                v = num;
            } else if (json_is_real(j)) {
                vn = (size_t)snprintf(num, sizeof(num), "%.17g", json_real_value(j));
                v = num;
            } else if (json_is_boolean(j)) {
                v = json_is_true(j) ? "true" : "false";
                vn = strlen(v);
            } else {
                snprintf(err, errlen, "{field.%s}: %s", p->text,
                         j ? "not a string, number or boolean" : "missing from the payload");
                return CG_TPL_EMISSING;
            }
            break;
        }
        }
        if (!v || (channel_segment && vn == 0)) {
            snprintf(err, errlen, "a placeholder is empty in this message");
            return CG_TPL_EMISSING;
        }
        if (append_value(out, v, vn, channel_segment))
            return CG_TPL_ENOMEM;
    }
    return 0;
}

bool cg_mqtt_filter_valid(const char *f)
{
    if (!*f)
        return false;
    for (const char *p = f; *p; p++) {
        if (*p == '+') {
            if ((p != f && p[-1] != '/') || (p[1] && p[1] != '/'))
                return false;
        } else if (*p == '#') {
            if ((p != f && p[-1] != '/') || p[1])
                return false;
        }
    }
    return true;
}

bool cg_mqtt_filter_matches(const char *f, const char *t)
{
    /* Topics starting with $ are not matched by a leading wildcard (MQTT 3.1.1 §4.7.2). */
    if (*t == '$' && (*f == '+' || *f == '#'))
        return false;
    for (;;) {
        if (*f == '#')
            return true;
        if (*f == '+') {
            while (*t && *t != '/')
                t++;
            f++;
        } else {
            while (*f && *f != '/' && *t && *t != '/') {
                if (*f != *t)
                    return false;
                f++, t++;
            }
            if ((*f && *f != '/') || (*t && *t != '/'))
                return false;
        }
        if (!*f && !*t)
            return true;
        if (*f == '/' && *t == '/') {
            f++, t++;
            continue;
        }
        /* "a/#" matches "a" too */
        if (*f == '/' && f[1] == '#' && !f[2] && !*t)
            return true;
        return false;
    }
}

size_t cg_split_levels(const char *s, char sep, char *buf, size_t buflen, const char **levels,
                       size_t max)
{
    if (*s == sep)
        s++;
    size_t n = strlen(s);
    if (n + 1 > buflen)
        n = buflen - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t count = 0;
    char *p = buf;
    while (count < max) {
        levels[count++] = p;
        char *q = strchr(p, sep);
        if (!q)
            break;
        *q = '\0';
        p = q + 1;
    }
    return count;
}

bool cg_route_matches_topic(const cg_route_t *r, const char *topic)
{
    if (r->outbound)
        return false;
    switch (r->source) {
    case CG_SOURCE_KAFKA:
        return !strcmp(r->topic, topic);
    case CG_SOURCE_KAFKA_REGEX:
        return regexec(&r->re, topic, 0, NULL, 0) == 0;
    case CG_SOURCE_MQTT:
        return cg_mqtt_filter_matches(r->topic, topic);
    }
    return false;
}
