#include "hist.h"

#include <string.h>

static int bucket_of(uint64_t v)
{
    if (v < CG_HIST_LINEAR)
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 5; /* v >> shift lands in [32, 63] */
    int idx = CG_HIST_LINEAR + (shift - 1) * CG_HIST_SUB + (int)((v >> shift) - CG_HIST_SUB);
    return idx < CG_HIST_BUCKETS ? idx : CG_HIST_BUCKETS - 1;
}

uint64_t cg_hist_bucket_low(int i)
{
    if (i < CG_HIST_LINEAR)
        return (uint64_t)i;
    int shift = (i - CG_HIST_LINEAR) / CG_HIST_SUB + 1;
    uint64_t m = (uint64_t)((i - CG_HIST_LINEAR) % CG_HIST_SUB + CG_HIST_SUB);
    return m << shift;
}

uint64_t cg_hist_bucket_high(int i)
{
    if (i < CG_HIST_LINEAR)
        return (uint64_t)i;
    int shift = (i - CG_HIST_LINEAR) / CG_HIST_SUB + 1;
    uint64_t m = (uint64_t)((i - CG_HIST_LINEAR) % CG_HIST_SUB + CG_HIST_SUB);
    return ((m + 1) << shift) - 1;
}

void cg_hist_reset(cg_hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

void cg_hist_record(cg_hist_t *h, uint64_t us)
{
    h->buckets[bucket_of(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

void cg_hist_merge(cg_hist_t *dst, const cg_hist_t *src)
{
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    for (int i = 0; i < CG_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t cg_hist_quantile(const cg_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (int i = 0; i < CG_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t lo = cg_hist_bucket_low(i), hi = cg_hist_bucket_high(i);
            uint64_t mid = lo + (hi - lo) / 2;
            return mid < h->max_us ? mid : h->max_us;
        }
    }
    return h->max_us;
}
