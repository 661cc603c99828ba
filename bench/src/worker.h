/* cg-load worker process: one epoll loop driving many client connections
 * (receivers) or the publisher connections. Runs in a forked child; talks to
 * the parent through two pipes:
 *   ctl_fd (parent -> worker) bytes: 'G' start measuring (reset counters,
 *          publishers start), 'S' stop publishing, 'Q' send final stats, exit.
 *   stats_fd (worker -> parent): a cg_stats_t about once a second, a final
 *          one on 'Q'.
 * The worker also exits on its own at a hard deadline or when ctl_fd closes. */
#ifndef CG_WORKER_H
#define CG_WORKER_H

#include "opts.h"

typedef struct cg_worker_spec {
    int id; /* 0..workers-1 receivers; workers = publisher process */
    int is_pub;
    long first;     /* global index of the first client */
    long count;     /* clients (or publishers) of this worker */
    long ramp_rate; /* this worker's share of connections per second */
    int ctl_fd;
    int stats_fd;
    long deadline_s; /* hard stop, seconds after start */
} cg_worker_spec_t;

/* Never returns: calls _exit(). */
void cg_worker_run(const cg_opts_t *o, const cg_worker_spec_t *spec);

#endif
