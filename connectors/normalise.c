#include "normalise.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_LEVELS 32

bool cg_utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            if (!c)
                return false; /* NUL never reaches a JSON string or channel */
            p++;
            continue;
        }
        size_t need;
        unsigned min;
        if ((c & 0xE0) == 0xC0)
            need = 1, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0)
            need = 2, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0)
            need = 3, min = 0x10000, c &= 0x07;
        else
            return false;
        if ((size_t)(end - p) <= need)
            return false;
        for (size_t i = 1; i <= need; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        p += need + 1;
    }
    return true;
}

int cg_base64_append(cg_buf_t *out, const void *data, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    if (cg_buf_reserve(out, (n + 2) / 3 * 4))
        return -1;
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        q[0] = tbl[v >> 18], q[1] = tbl[(v >> 12) & 63], q[2] = tbl[(v >> 6) & 63],
        q[3] = tbl[v & 63];
        cg_buf_append(out, q, 4);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        q[0] = tbl[v >> 18], q[1] = tbl[(v >> 12) & 63], q[2] = '=', q[3] = '=';
        cg_buf_append(out, q, 4);
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        q[0] = tbl[v >> 18], q[1] = tbl[(v >> 12) & 63], q[2] = tbl[(v >> 6) & 63], q[3] = '=';
        cg_buf_append(out, q, 4);
    }
    return 0;
}

static json_t *base64_string(const void *p, size_t n)
{
    cg_buf_t b;
    cg_buf_init(&b, 0);
    json_t *s = NULL;
    if (!cg_base64_append(&b, p, n))
        s = json_stringn_nocheck(b.len ? cg_buf_data(&b) : "", b.len);
    cg_buf_free(&b);
    return s;
}

static json_t *mp_to_json(const msgpack_object *o, int depth, char *err, size_t errlen)
{
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "msgpack nested deeper than %d", MAX_DEPTH);
        return NULL;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return json_real((double)o->via.u64);
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64)) {
            snprintf(err, errlen, "msgpack float is not finite (JSON has no NaN/Infinity)");
            return NULL;
        }
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        if (!cg_utf8_valid(o->via.str.ptr, o->via.str.size)) {
            snprintf(err, errlen, "msgpack string is not valid UTF-8");
            return NULL;
        }
        return json_stringn_nocheck(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return base64_string(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *v = mp_to_json(&o->via.array.ptr[i], depth + 1, err, errlen);
            if (!v || json_array_append_new(a, v)) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            char num[32];
            const char *ks;
            size_t kn;
            if (k->type == MSGPACK_OBJECT_STR) {
                ks = k->via.str.ptr;
                kn = k->via.str.size;
                if (!cg_utf8_valid(ks, kn)) {
                    snprintf(err, errlen, "msgpack map key is not valid UTF-8");
                    goto map_fail;
                }
            } else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                kn = (size_t)snprintf(num, sizeof(num), "%" PRIu64, k->via.u64);
                ks = num;
            } else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                kn = (size_t)snprintf(num, sizeof(num), "%" PRId64, k->via.i64);
                ks = num;
            } else {
                snprintf(err, errlen, "msgpack map key is not a string or integer");
                goto map_fail;
            }
            json_t *v = mp_to_json(&o->via.map.ptr[i].val, depth + 1, err, errlen);
            if (!v || json_object_setn_new_nocheck(m, kn ? ks : "", kn, v))
                goto map_fail;
        }
        return m;
    map_fail:
        json_decref(m);
        return NULL;
    }
    case MSGPACK_OBJECT_EXT:
        snprintf(err, errlen, "msgpack extension type %d has no JSON form", o->via.ext.type);
        return NULL;
    }
    snprintf(err, errlen, "unknown msgpack type");
    return NULL;
}

json_t *cg_msgpack_to_json(const void *p, size_t len, char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    json_t *j = NULL;
    msgpack_unpack_return r = msgpack_unpack_next(&u, p, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS)
        snprintf(err, errlen, "invalid msgpack (%s)",
                 r == MSGPACK_UNPACK_CONTINUE ? "truncated" : "malformed");
    else if (off != len)
        snprintf(err, errlen, "invalid msgpack (%zu bytes after the object)", len - off);
    else
        j = mp_to_json(&u.data, 0, err, errlen);
    msgpack_unpacked_destroy(&u);
    return j;
}

/* The payload as a JSON value (a new reference), per the route's format. */
static json_t *decode(const cg_route_t *r, const cg_inbound_msg_t *m, char *err, size_t errlen)
{
    const char *p = m->len ? m->payload : "";
    switch (r->format) {
    case CG_FORMAT_JSON: {
        json_error_t je;
        json_t *j = json_loadb(p, m->len, JSON_DECODE_ANY, &je);
        if (!j)
            snprintf(err, errlen, "invalid JSON at byte %d: %s", je.position, je.text);
        return j;
    }
    case CG_FORMAT_MSGPACK:
        return cg_msgpack_to_json(p, m->len, err, errlen);
    case CG_FORMAT_TEXT:
        if (!cg_utf8_valid(p, m->len)) {
            snprintf(err, errlen, "text payload is not valid UTF-8");
            return NULL;
        }
        return json_pack("{s:s%}", "text", p, m->len);
    case CG_FORMAT_BYTES: {
        json_t *s = base64_string(p, m->len);
        return s ? json_pack("{s:o}", "bytes", s) : NULL;
    }
    }
    return NULL;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return cg_buf_append(data, buffer, size);
}

int cg_normalise(const cg_route_t *r, const cg_inbound_msg_t *m, cg_buf_t *channel, cg_buf_t *data,
                 char *err, size_t errlen)
{
    cg_buf_reset(channel);
    cg_buf_reset(data);
    if (r->max_size > 0 && m->len > (size_t)r->max_size) {
        snprintf(err, errlen, "payload of %zu bytes is over max_size %" PRId64, m->len,
                 r->max_size);
        return CG_NORM_ESIZE;
    }
    if (m->has_key && !cg_utf8_valid(m->key, m->key_len)) {
        snprintf(err, errlen, "key is not valid UTF-8");
        return CG_NORM_EPAYLOAD;
    }
    json_t *root = decode(r, m, err, errlen);
    if (!root)
        return CG_NORM_EPAYLOAD;
    int rc = CG_NORM_ENOMEM;
    const json_t *obj = root;
    json_t *wrapped = NULL;
    if (!json_is_object(root)) {
        wrapped = json_pack("{s:O}", "value", root);
        if (!wrapped)
            goto out;
        obj = wrapped;
    }

    char tbuf[1024];
    const char *levels[MAX_LEVELS];
    size_t nlevels = 0;
    if (m->bus == CG_BUS_MQTT)
        nlevels = cg_split_levels(m->topic, '/', tbuf, sizeof(tbuf), levels, MAX_LEVELS);
    cg_tpl_ctx_t ctx = {.key = m->key,
                        .key_len = m->key_len,
                        .has_key = m->has_key,
                        .topic = m->topic,
                        .partition = m->partition,
                        .levels = levels,
                        .nlevels = nlevels,
                        .fields = obj};
    int e = cg_template_expand(&r->channel, &ctx, true, channel, err, errlen);
    if (e) {
        rc = e == CG_TPL_EMISSING ? CG_NORM_EMISSING : CG_NORM_ENOMEM;
        goto out;
    }
    if (cg_buf_append(channel, "", 1)) /* NUL, not counted */
        goto out;
    channel->len--;

    if (cg_buf_append_str(data, "{\"item\":"))
        goto out;
    if (r->has_item) {
        cg_buf_t item;
        cg_buf_init(&item, 0);
        e = cg_template_expand(&r->item, &ctx, false, &item, err, errlen);
        if (!e && !cg_utf8_valid(cg_buf_data(&item), item.len)) {
            snprintf(err, errlen, "item name is not valid UTF-8");
            e = CG_TPL_EMISSING;
        }
        if (!e)
            e = cg_buf_append_json_string(data, item.len ? cg_buf_data(&item) : "", item.len)
                    ? CG_TPL_ENOMEM
                    : 0;
        cg_buf_free(&item);
        if (e) {
            rc = e == CG_TPL_EMISSING ? CG_NORM_EMISSING : CG_NORM_ENOMEM;
            goto out;
        }
    } else if (m->bus == CG_BUS_KAFKA && m->has_key) {
        if (cg_buf_append_json_string(data, m->key_len ? m->key : "", m->key_len))
            goto out;
    } else if (cg_buf_append_json_string(data, m->topic, strlen(m->topic))) {
        goto out;
    }

    if (cg_buf_append_str(data, ",\"fields\":"))
        goto out;
    if (r->nfields) {
        json_t *proj = json_object();
        if (!proj)
            goto out;
        for (size_t i = 0; i < r->nfields; i++) {
            const json_t *v = cg_json_path(obj, r->fields[i].path, strlen(r->fields[i].path));
            if (v)
                json_object_set(proj, r->fields[i].out, (json_t *)v);
        }
        int d = json_dump_callback(proj, dump_cb, data, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(proj);
        if (d)
            goto out;
    } else if (r->format == CG_FORMAT_JSON && !wrapped) {
        /* Valid JSON object: the payload goes in as it is, no re-encoding. */
        if (cg_buf_append(data, m->payload, m->len))
            goto out;
    } else if (json_dump_callback(obj, dump_cb, data, JSON_COMPACT | JSON_PRESERVE_ORDER)) {
        goto out;
    }

    if (cg_buf_append_str(data, ",\"source\":{\"bus\":") ||
        cg_buf_append_str(data, m->bus == CG_BUS_KAFKA ? "\"kafka\"" : "\"mqtt\"") ||
        cg_buf_append_str(data, ",\"route\":") ||
        cg_buf_append_json_string(data, r->name, strlen(r->name)) ||
        cg_buf_append_str(data, ",\"topic\":") ||
        cg_buf_append_json_string(data, m->topic, strlen(m->topic)))
        goto out;
    if (m->bus == CG_BUS_KAFKA) {
        if (cg_buf_printf(data, ",\"partition\":%d,\"offset\":%" PRId64 ",\"key\":",
                          (int)m->partition, m->offset))
            goto out;
        if (m->has_key ? cg_buf_append_json_string(data, m->key_len ? m->key : "", m->key_len)
                       : cg_buf_append_str(data, "null"))
            goto out;
    } else if (cg_buf_printf(data, ",\"qos\":%d,\"retain\":%s", m->qos,
                             m->retain ? "true" : "false")) {
        goto out;
    }
    if (m->timestamp_ms >= 0 ? cg_buf_printf(data, ",\"timestamp\":%" PRId64 "}}", m->timestamp_ms)
                             : cg_buf_append_str(data, ",\"timestamp\":null}}"))
        goto out;
    rc = CG_NORM_OK;
out:
    json_decref(wrapped);
    json_decref(root);
    return rc;
}
