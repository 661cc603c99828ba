/* cg-load result: the merged numbers of one run, written as one JSON object
 * (jansson; off the hot path, parent process only). Field names are a
 * contract for plotting scripts: see bench/README.md. */
#ifndef CG_REPORT_H
#define CG_REPORT_H

#include <stddef.h>

#include "opts.h"
#include "stats.h"

enum cg_phase { CG_PH_RAMP, CG_PH_MEASURE, CG_PH_DRAIN, CG_PH_DONE };

typedef struct cg_tl_point {
    double t;
    int phase;
    unsigned long long connected, ready;
    double sent_ps, recv_ps, p50_ms, p99_ms;
    double server_cpu_pct; /* -1 unknown */
} cg_tl_point_t;

typedef struct cg_report {
    cg_stats_t recv; /* merged receivers */
    cg_stats_t pub;  /* publisher process (zero when none) */
    long nworkers;
    double ramp_s;     /* start until 'G' */
    double measured_s; /* 'G' until 'S' */
    double drain_s;
    double recv_cpu_s; /* receiver workers' CPU during measure+drain, summed */
    double pub_cpu_s;
    int have_server;
    double server_cpu_pct; /* over the measured window */
    long server_rss_kb, server_hwm_kb;
    int interrupted;
    int all_ready;
    cg_tl_point_t *tl;
    size_t ntl;
} cg_report_t;

/* 0 on success */
int cg_report_write(const cg_opts_t *o, const cg_report_t *r, const char *path);

#endif
