/* cg-load worker -> parent record. Each worker writes a whole record to its
 * own pipe about once a second (cumulative counters, so the parent keeps only
 * the latest per worker) and once more, with final set, when told to quit. */
#ifndef CG_STATS_H
#define CG_STATS_H

#include <stdint.h>

#include "hist.h"

#define CG_STATS_MAGIC 0x43474c44u /* "CGLD" */

typedef struct cg_stats {
    uint32_t magic;
    uint32_t worker;
    uint32_t final;
    uint32_t measuring; /* 1 once the worker saw 'G' */
    uint64_t target;    /* connections this worker is asked to hold */
    uint64_t attempts;  /* TCP connects started */
    uint64_t connected; /* currently open at the protocol level */
    uint64_t ready;     /* currently subscribed (publishers: handshaken) */
    uint64_t conn_fail;
    uint64_t disconnects;
    uint64_t gave_up;
    uint64_t bayeux_err;
    uint64_t rehandshakes;
    uint64_t connects; /* /meta/connect replies seen */
    /* counters below reset at 'G' */
    uint64_t sent;
    uint64_t acked;
    uint64_t pub_err;
    uint64_t pub_skipped; /* publishes not sent: all publishers backlogged */
    uint64_t expected;    /* deliveries the sent messages should cause */
    uint64_t received;
    uint64_t no_ts;
    uint64_t bytes_in;
    uint64_t cpu_us; /* user+sys of this worker since start */
    cg_hist_t hist;
} cg_stats_t;

#endif
