/* cg-load latency histogram: log-linear buckets over microseconds.
 *
 * Values below 64 us get one bucket each; above, every power of two is split
 * into 32 linear sub-buckets (about 3% relative width). Fixed size, no
 * allocation, so a histogram can be copied whole through a pipe and merged by
 * adding counts. Not thread-safe: each worker owns its own. */
#ifndef CG_HIST_H
#define CG_HIST_H

#include <stdint.h>

#define CG_HIST_SUB 32
#define CG_HIST_LINEAR 64
/* covers values up to 2^41 us (~25 days); larger values land in the last bucket */
#define CG_HIST_BUCKETS (CG_HIST_LINEAR + 35 * CG_HIST_SUB)

typedef struct cg_hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us;
    uint64_t buckets[CG_HIST_BUCKETS];
} cg_hist_t;

void cg_hist_reset(cg_hist_t *h);
void cg_hist_record(cg_hist_t *h, uint64_t us);
void cg_hist_merge(cg_hist_t *dst, const cg_hist_t *src);
/* q in [0,1]; returns a representative value (bucket midpoint, capped by max) in us */
uint64_t cg_hist_quantile(const cg_hist_t *h, double q);
/* inclusive value range of bucket i */
uint64_t cg_hist_bucket_low(int i);
uint64_t cg_hist_bucket_high(int i);

#endif
