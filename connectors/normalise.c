#include "normalise.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
/* Containers inside containers in a msgpack payload: msgpack-c's own limit
 * (MSGPACK_EMBED_STACK_SIZE), which it reports as out of memory. */
#define MP_MAX_NESTING 32
#define MAX_LEVELS 32

bool cg_utf8_valid(const void *s, size_t n)
{
    if (!n) /* s may be NULL (an empty key or payload): no arithmetic on it */
        return true;
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
    cg_buf_reserve(out, (n + 2) / 3 * 4);
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

/* Big-endian length fields of msgpack headers. */
static uint64_t be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Checks the structure of one msgpack object against the bytes there are, before msgpack-c
 * unpacks it: msgpack-c allocates room for a container's declared element count up front, so five
 * bytes `dd ff ff ff ff` (an array of 2^32-1 elements) would ask for ~100 GiB. Every element takes
 * at least one byte, so the elements still to read may never outnumber the bytes left; a str, bin
 * or ext must fit in them; nesting is bounded. After this, what msgpack-c allocates is a small
 * multiple of len. Iterative: hostile nesting cannot grow the C stack. 0, or -1 with err set. */
static int mp_prescan(const unsigned char *p, size_t len, char *err, size_t errlen)
{
    uint64_t left[MP_MAX_NESTING + 1]; /* elements still to read in each open container */
    size_t depth = 0, pos = 0;
    uint64_t pending = 1; /* the sum of left[]: objects still to read at all levels */
    left[0] = 1;
    while (pending) {
        if (pending > len - pos) {
            if (pending > 1)
                snprintf(err, errlen,
                         "invalid msgpack (%" PRIu64 " elements declared, %zu bytes left)", pending,
                         len - pos);
            else
                snprintf(err, errlen, "invalid msgpack (truncated)");
            return -1;
        }
        unsigned c = p[pos];
        size_t hdr = 1;       /* header bytes, the type byte included */
        size_t lenbytes = 0;  /* of which a big-endian length after the type byte */
        uint64_t payload = 0; /* bytes after the header */
        uint64_t children = 0;
        bool container = (c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf);
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, bool */
        } else if (c <= 0x8f) {
            children = 2 * (uint64_t)(c & 0x0f);
        } else if (c <= 0x9f) {
            children = c & 0x0f;
        } else if (c <= 0xbf) {
            payload = c & 0x1f;
        } else {
            switch (c) {
            case 0xc4: /* bin 8/16/32 */
            case 0xc5:
            case 0xc6:
                lenbytes = (size_t)1 << (c - 0xc4);
                hdr = 1 + lenbytes;
                break;
            case 0xc7: /* ext 8/16/32: length, then the type byte */
            case 0xc8:
            case 0xc9:
                lenbytes = (size_t)1 << (c - 0xc7);
                hdr = 2 + lenbytes;
                break;
            case 0xca:
                payload = 4;
                break;
            case 0xcb:
                payload = 8;
                break;
            case 0xcc: /* uint 8..64, int 8..64 */
            case 0xcd:
            case 0xce:
            case 0xcf:
                payload = (uint64_t)1 << (c - 0xcc);
                break;
            case 0xd0:
            case 0xd1:
            case 0xd2:
            case 0xd3:
                payload = (uint64_t)1 << (c - 0xd0);
                break;
            case 0xd4: /* fixext 1..16: type byte, data */
            case 0xd5:
            case 0xd6:
            case 0xd7:
            case 0xd8:
                hdr = 2;
                payload = (uint64_t)1 << (c - 0xd4);
                break;
            case 0xd9: /* str 8/16/32 */
            case 0xda:
            case 0xdb:
                lenbytes = (size_t)1 << (c - 0xd9);
                hdr = 1 + lenbytes;
                break;
            case 0xdc: /* array 16/32 */
            case 0xdd:
            case 0xde: /* map 16/32 */
            case 0xdf:
                lenbytes = (c & 1) ? 4 : 2;
                hdr = 1 + lenbytes;
                break;
            default: /* 0xc1: never used */
                snprintf(err, errlen, "invalid msgpack (malformed)");
                return -1;
            }
        }
        if (hdr > len - pos) {
            snprintf(err, errlen, "invalid msgpack (truncated)");
            return -1;
        }
        if (lenbytes) {
            uint64_t n = be(p + pos + 1, lenbytes);
            if (c >= 0xdc && c <= 0xdd)
                children = n;
            else if (c >= 0xde)
                children = 2 * n;
            else
                payload = n;
        }
        if (payload > len - pos - hdr) {
            snprintf(err, errlen,
                     "invalid msgpack (%" PRIu64 " bytes of data declared, %zu bytes left)",
                     payload, len - pos - hdr);
            return -1;
        }
        /* msgpack-c counts empty containers against its nesting limit too */
        if (container && depth == MP_MAX_NESTING) {
            snprintf(err, errlen, "msgpack nested deeper than %d", MP_MAX_NESTING);
            return -1;
        }
        pos += hdr + (size_t)payload;
        left[depth]--;
        pending--;
        if (children) {
            left[++depth] = children;
            pending += children; /* <= len + 2^33: no overflow */
        }
        while (depth && !left[depth])
            depth--;
    }
    return 0;
}

json_t *cg_msgpack_to_json(const void *p, size_t len, char *err, size_t errlen)
{
    if (mp_prescan(p, len, err, errlen))
        return NULL;
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
    cg_buf_append(data, buffer, size);
    return 0;
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
    cg_buf_append(channel, "", 1); /* NUL, not counted */
    channel->len--;

    cg_buf_append_str(data, "{\"item\":");
    if (r->has_item) {
        cg_buf_t item;
        cg_buf_init(&item, 0);
        e = cg_template_expand(&r->item, &ctx, false, &item, err, errlen);
        if (!e && !cg_utf8_valid(cg_buf_data(&item), item.len)) {
            snprintf(err, errlen, "item name is not valid UTF-8");
            e = CG_TPL_EMISSING;
        }
        if (!e)
            cg_buf_append_json_string(data, item.len ? cg_buf_data(&item) : "", item.len);
        cg_buf_free(&item);
        if (e) {
            rc = e == CG_TPL_EMISSING ? CG_NORM_EMISSING : CG_NORM_ENOMEM;
            goto out;
        }
    } else if (m->bus == CG_BUS_KAFKA && m->has_key) {
        cg_buf_append_json_string(data, m->key_len ? m->key : "", m->key_len);
    } else {
        cg_buf_append_json_string(data, m->topic, strlen(m->topic));
    }

    cg_buf_append_str(data, ",\"fields\":");
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
        cg_buf_append(data, m->payload, m->len);
    } else if (json_dump_callback(obj, dump_cb, data, JSON_COMPACT | JSON_PRESERVE_ORDER)) {
        goto out;
    }

    cg_buf_append_str(data, ",\"source\":{\"bus\":");
    cg_buf_append_str(data, m->bus == CG_BUS_KAFKA ? "\"kafka\"" : "\"mqtt\"");
    cg_buf_append_str(data, ",\"route\":");
    cg_buf_append_json_string(data, r->name, strlen(r->name));
    cg_buf_append_str(data, ",\"topic\":");
    cg_buf_append_json_string(data, m->topic, strlen(m->topic));
    if (m->bus == CG_BUS_KAFKA) {
        cg_buf_printf(data, ",\"partition\":%d,\"offset\":%" PRId64 ",\"key\":", (int)m->partition,
                      m->offset);
        if (m->has_key)
            cg_buf_append_json_string(data, m->key_len ? m->key : "", m->key_len);
        else
            cg_buf_append_str(data, "null");
    } else {
        cg_buf_printf(data, ",\"qos\":%d,\"retain\":%s", m->qos, m->retain ? "true" : "false");
    }
    if (m->timestamp_ms >= 0)
        cg_buf_printf(data, ",\"timestamp\":%" PRId64 "}}", m->timestamp_ms);
    else
        cg_buf_append_str(data, ",\"timestamp\":null}}");
    rc = CG_NORM_OK;
out:
    json_decref(wrapped);
    json_decref(root);
    return rc;
}
