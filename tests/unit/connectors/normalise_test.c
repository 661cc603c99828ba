/* Unit tests: hostile payloads through cg_normalise (issue #8): msgpack headers that declare more
 * than the payload holds are refused before msgpack-c allocates for them, nesting is bounded,
 * empty payloads in every format, and the empty appends the buffer must take. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cg_test.h"
#include "connectors_config.h"
#include "load_config.h"
#include "normalise.h"
#include "route.h"

static int load(const char *text, cg_connectors_config_t **out)
{
    return cg_test_load_config(text, out, NULL);
}

/* The routes, in order: json, msgpack, text, bytes, msgpack with max_size 64. */
static cg_connectors_config_t *routes(void)
{
    cg_connectors_config_t *cc = NULL;
    CHECK(!load("kafka: {bootstrap_servers: 'h:1'}\nroutes:\n"
                "  - {name: j, kafka: t, format: json, channel: '/j'}\n"
                "  - {name: m, kafka: t, format: msgpack, channel: '/m'}\n"
                "  - {name: x, kafka: t, format: text, channel: '/x'}\n"
                "  - {name: b, kafka: t, format: bytes, channel: '/b'}\n"
                "  - {name: s, kafka: t, format: msgpack, channel: '/s', max_size: 64}\n",
                &cc));
    return cc;
}

static int run(const cg_route_t *r, const void *p, size_t n, char *err, size_t errlen,
               char **fields)
{
    cg_buf_t ch, data;
    cg_buf_init(&ch, 0);
    cg_buf_init(&data, 0);
    cg_inbound_msg_t m = {.bus = CG_BUS_KAFKA,
                          .topic = "t",
                          .payload = p,
                          .len = n,
                          .partition = 0,
                          .offset = 1,
                          .timestamp_ms = -1};
    err[0] = 0;
    int rc = cg_normalise(r, &m, &ch, &data, err, errlen);
    if (fields) {
        *fields = NULL;
        json_t *j = rc ? NULL : json_loadb(cg_buf_data(&data), data.len, 0, NULL);
        if (j)
            *fields = json_dumps(json_object_get(j, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
    }
    cg_buf_free(&ch);
    cg_buf_free(&data);
    return rc;
}

/* Each of these is refused with CG_NORM_EPAYLOAD, quickly and without a large allocation (ASan
 * aborts on one in the sanitizer build), and err names the reason. */
static void test_hostile_msgpack(const cg_route_t *r)
{
    static const struct {
        const char *hex;
        const char *why;
    } cases[] = {
        {"ddffffffff", "elements declared"},           /* array32 of 2^32-1 */
        {"dd7fffffff01", "elements declared"},         /* array32 of 2^31-1, one element */
        {"dcffff00", "elements declared"},             /* array16 of 65535 */
        {"dfffffffff", "elements declared"},           /* map32 of 2^32-1 pairs */
        {"df0000000100", "elements declared"},         /* map32 of 1 pair, key only */
        {"de800001", "elements declared"},             /* map16 */
        {"dbffffffff", "bytes of data declared"},      /* str32 */
        {"da0010616263", "bytes of data declared"},    /* str16 of 16, 3 there */
        {"c6ffffffff", "bytes of data declared"},      /* bin32 */
        {"c9ffffffff01", "bytes of data declared"},    /* ext32 */
        {"d8010102", "bytes of data declared"},        /* fixext16, 2 bytes */
        {"cb3ff0", "bytes of data declared"},          /* float64 cut */
        {"dd000000", "truncated"},                     /* array32 header cut */
        {"db00", "truncated"},                         /* str32 header cut */
        {"c1", "malformed"},                           /* never used */
        {"9201", "elements declared"},                 /* [1, <missing>] */
        {"", "truncated"},                             /* nothing */
        {"0101", "after the object"},                  /* trailing byte */
        {"81a16191dd00000002c0", "elements declared"}, /* {"a":[array32 of 2, 1 there]} */
    };
    char err[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].hex) / 2;
        unsigned char buf[64];
        for (size_t j = 0; j < n; j++)
            sscanf(cases[i].hex + 2 * j, "%2hhx", &buf[j]);
        int rc = run(r, buf, n, err, sizeof(err), NULL);
        CHECK(rc == CG_NORM_EPAYLOAD);
        if (!strstr(err, cases[i].why)) {
            fprintf(stderr, "case %s: err '%s', expected '%s'\n", cases[i].hex, err, cases[i].why);
            cg_test_failed++;
        }
    }
}

/* Nesting: 32 containers decode (msgpack-c's limit), 33 are refused by the pre-scan, and 10,000
 * (arrays or maps) never recurse. */
static void test_nesting(const cg_route_t *r)
{
    char err[256];
    enum { N = 10000 };
    unsigned char *p = malloc(N + 1);
    for (int depth = 31; depth <= 34; depth++) {
        memset(p, 0x91, (size_t)depth - 1); /* [[[...[[]]...]]]: depth arrays */
        p[depth - 1] = 0x90;
        char *f = NULL;
        int rc = run(r, p, (size_t)depth, err, sizeof(err), &f);
        if (depth <= 32) {
            CHECK(rc == CG_NORM_OK);
            CHECK(f && !strncmp(f, "{\"value\":[[[", 12));
        } else {
            CHECK(rc == CG_NORM_EPAYLOAD);
            CHECK(strstr(err, "nested deeper than 32"));
        }
        free(f);
    }
    memset(p, 0x91, N);
    p[N] = 0xc0;
    CHECK(run(r, p, N + 1, err, sizeof(err), NULL) == CG_NORM_EPAYLOAD);
    CHECK(strstr(err, "nested deeper"));
    CHECK(run(r, p, N, err, sizeof(err), NULL) == CG_NORM_EPAYLOAD); /* and truncated */
    for (int i = 0; i < N; i += 2) {                                 /* {"":{"":...}} */
        p[i] = 0x81;
        p[i + 1] = 0xa0;
    }
    p[N] = 0xc0;
    CHECK(run(r, p, N + 1, err, sizeof(err), NULL) == CG_NORM_EPAYLOAD);
    CHECK(strstr(err, "nested deeper"));
    free(p);
}

/* Valid payloads still decode, the pre-scan counting exactly: every type, and containers whose
 * declared sizes use up the payload to its last byte. */
static void test_valid_msgpack(const cg_route_t *r)
{
    char err[256];
    char *f = NULL;
    /* {"a":[1,-1,255,-129,65536,1.5(f32),"xyz",bin"\x01",nil,true,{}],"b":{"1":[]}} */
    const unsigned char all[] = {0x82, 0xa1, 'a',  0x9b, 0x01, 0xff, 0xcc, 0xff, 0xd1, 0xff,
                                 0x7f, 0xce, 0x00, 0x01, 0x00, 0x00, 0xca, 0x3f, 0xc0, 0x00,
                                 0x00, 0xd9, 0x03, 'x',  'y',  'z',  0xc4, 0x01, 0x01, 0xc0,
                                 0xc3, 0x80, 0xa1, 'b',  0x81, 0x01, 0x90};
    CHECK(run(r, all, sizeof(all), err, sizeof(err), &f) == CG_NORM_OK);
    CHECK(f && !strcmp(f, "{\"a\":[1,-1,255,-129,65536,1.5,\"xyz\",\"AQ==\",null,true,{}],"
                          "\"b\":{\"1\":[]}}"));
    free(f);
    /* array16 of 1000 nils: as many elements as bytes left */
    unsigned char big[3 + 1000];
    big[0] = 0xdc, big[1] = 0x03, big[2] = 0xe8;
    memset(big + 3, 0xc0, 1000);
    CHECK(run(r, big, sizeof(big), err, sizeof(err), &f) == CG_NORM_OK);
    CHECK(f && strlen(f) == strlen("{\"value\":[]}") + 1000 * 5 - 1);
    free(f);
    CHECK(run(r, big, sizeof(big) - 1, err, sizeof(err), NULL) == CG_NORM_EPAYLOAD);
    /* str32 and map32 with exact sizes */
    const unsigned char s32[] = {0xdb, 0, 0, 0, 2, 'h', 'i'};
    CHECK(run(r, s32, sizeof(s32), err, sizeof(err), &f) == CG_NORM_OK);
    CHECK(f && !strcmp(f, "{\"value\":\"hi\"}"));
    free(f);
    const unsigned char m32[] = {0xdf, 0, 0, 0, 1, 0xa1, 'k', 0x2a};
    CHECK(run(r, m32, sizeof(m32), err, sizeof(err), &f) == CG_NORM_OK);
    CHECK(f && !strcmp(f, "{\"k\":42}"));
    free(f);
    /* an extension type is well-formed but has no JSON form */
    const unsigned char ext[] = {0xd4, 0x05, 0x00};
    CHECK(run(r, ext, sizeof(ext), err, sizeof(err), NULL) == CG_NORM_EPAYLOAD);
    CHECK(strstr(err, "extension type 5"));
}

/* An empty payload, with a NULL pointer as a bus may hand it over, in every format. */
static void test_empty(cg_connectors_config_t *cc)
{
    char err[256];
    char *f = NULL;
    CHECK(run(cc->routes[0], NULL, 0, err, sizeof(err), NULL) == CG_NORM_EPAYLOAD);
    CHECK(run(cc->routes[1], NULL, 0, err, sizeof(err), NULL) == CG_NORM_EPAYLOAD);
    CHECK(run(cc->routes[2], NULL, 0, err, sizeof(err), &f) == CG_NORM_OK);
    CHECK(f && !strcmp(f, "{\"text\":\"\"}"));
    free(f);
    CHECK(run(cc->routes[3], NULL, 0, err, sizeof(err), &f) == CG_NORM_OK);
    CHECK(f && !strcmp(f, "{\"bytes\":\"\"}"));
    free(f);
}

/* max_size is checked first: a hostile header over it never reaches the decoder. */
static void test_max_size(const cg_route_t *r)
{
    char err[256];
    unsigned char p[65] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    CHECK(run(r, p, sizeof(p), err, sizeof(err), NULL) == CG_NORM_ESIZE);
    CHECK(run(r, p, 5, err, sizeof(err), NULL) == CG_NORM_EPAYLOAD);
}

/* The buffer takes empty pieces given as (NULL, 0) without touching the pointer (UBSan checks
 * memcpy's arguments and NULL + 0). */
static void test_buf_empty(void)
{
    cg_buf_t b;
    cg_buf_init(&b, 16);
    cg_buf_append(&b, NULL, 0);
    CHECK(b.len == 0);
    cg_buf_append_json_string(&b, NULL, 0);
    CHECK(b.len == 2 && !memcmp(cg_buf_data(&b), "\"\"", 2));
    cg_buf_consume(&b, 0);
    CHECK(b.len == 2);
    cg_buf_t e;
    cg_buf_init(&e, 0);
    cg_buf_append(&b, cg_buf_data(&e), e.len); /* an empty buffer's data is NULL */
    CHECK(b.len == 2);
    CHECK(cg_base64_append(&e, NULL, 0) == 0 && e.len == 0);
    cg_buf_append(&e, "x", 1);
    CHECK(e.len == 1);
    cg_buf_free(&e);
    cg_buf_free(&b);
}

int main(void)
{
    cg_connectors_config_t *cc = routes();
    if (!cc)
        return 1;
    test_hostile_msgpack(cc->routes[1]);
    test_nesting(cc->routes[1]);
    test_valid_msgpack(cc->routes[1]);
    test_empty(cc);
    test_max_size(cc->routes[4]);
    test_buf_empty();
    cg_connectors_config_free(cc);
    TEST_MAIN_END();
}
