/* libFuzzer target: arbitrary bytes as a chunked HTTP request body, fed in two pieces. */
#include "chunked.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_chunked_t c;
    cg_buf_t out;
    cg_chunked_init(&c);
    cg_buf_init(&out, 0);
    size_t split = size ? data[0] % (size + 1) : 0, used = 0;
    int r = cg_chunked_feed(&c, (const char *)data, split, &out, 65536, &used);
    if (r == CG_CHUNKED_MORE)
        cg_chunked_feed(&c, (const char *)data + split, size - split, &out, 65536, &used);
    cg_buf_free(&out);
    return 0;
}
