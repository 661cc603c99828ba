#include "../cg_test.h"
#include "chunked.h"

static int decode(const char *in, size_t max, cg_buf_t *out, size_t step)
{
    cg_chunked_t c;
    cg_chunked_init(&c);
    cg_buf_reset(out);
    size_t len = strlen(in), off = 0;
    int r = CG_CHUNKED_MORE;
    /* feed in pieces of `step` bytes: framing may be split anywhere */
    while (off < len && r == CG_CHUNKED_MORE) {
        size_t n = len - off < step ? len - off : step, used = 0;
        r = cg_chunked_feed(&c, in + off, n, out, max, &used);
        off += used;
    }
    return r;
}

static void test_decode(void)
{
    cg_buf_t out;
    cg_buf_init(&out, 0);
    const char *body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
    for (size_t step = 1; step <= strlen(body); step++) {
        CHECK(decode(body, 1000, &out, step) == CG_CHUNKED_DONE);
        CHECK(out.len == 23 && !memcmp(cg_buf_data(&out), "Wikipedia in\r\n\r\nchunks.", 23));
    }
    CHECK(decode("0\r\nX-Trailer: 1\r\n\r\n", 100, &out, 3) == CG_CHUNKED_DONE);
    CHECK(out.len == 0);
    cg_buf_free(&out);
}

static void test_errors(void)
{
    cg_buf_t out;
    cg_buf_init(&out, 0);
    CHECK(decode("zz\r\n", 100, &out, 100) == CG_CHUNKED_ERROR);
    CHECK(decode("\r\n", 100, &out, 100) == CG_CHUNKED_ERROR);
    CHECK(decode("3\r\nabcX\r\n", 100, &out, 100) == CG_CHUNKED_ERROR);
    CHECK(decode("3\nabc", 100, &out, 100) == CG_CHUNKED_ERROR);
    CHECK(decode("ffffffffffffffff\r\n", 100, &out, 100) == CG_CHUNKED_ERROR);
    CHECK(decode("65\r\n", 100, &out, 100) == CG_CHUNKED_TOO_BIG); /* 101 > 100 */
    CHECK(decode("32\r\n", 100, &out, 100) == CG_CHUNKED_MORE);    /* 50: waits for data */
    cg_buf_free(&out);
}

int main(void)
{
    RUN(test_decode);
    RUN(test_errors);
    TEST_MAIN_END();
}
