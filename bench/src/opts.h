/* cg-load command line: one table of options with bounds (opts.c); parsed
 * once into a const cg_opts_t that the parent and every worker read. */
#ifndef CG_OPTS_H
#define CG_OPTS_H

#include <netinet/in.h>
#include <sys/socket.h>

enum cg_kind { CG_KIND_COMETD, CG_KIND_NCHAN };
enum cg_scenario { CG_SC_CHAT, CG_SC_BROADCAST, CG_SC_IDLE, CG_SC_KAFKA };
enum cg_transport { CG_TR_WS, CG_TR_LP, CG_TR_STREAM, CG_TR_MIX };

/* hard bounds: the tool refuses anything larger */
#define CG_MAX_CLIENTS 200000
#define CG_MAX_WORKERS 32
#define CG_MAX_PUBLISHERS 64
#define CG_MAX_DURATION 3600
#define CG_MAX_RATE 2000000
/* one worker stays well under the 20,000 fds of a process */
#define CG_MAX_CONNS_PER_WORKER 19000

typedef struct cg_opts {
    int kind;
    int scenario;
    int transport;
    int pub_transport;
    long clients;
    long publishers;
    long workers;
    long ramp_rate;
    long duration;
    long drain;
    long ready_timeout;
    long rate;        /* messages published per second, total */
    long room_size;   /* chat */
    long burst_rooms; /* chat */
    long payload;     /* bytes of the "p" filler string */
    long src_addrs;   /* 127.0.0.2 .. 127.0.0.(1+src_addrs) */
    long server_pid;
    long pub_inflight; /* nchan: pipelined POSTs per publisher connection */
    long max_retries;
    long quiet;
    char target[128];  /* as given */
    char path[128];    /* Bayeux path */
    char channel[128]; /* subscribe channel / chat prefix */
    char ts_field[64];
    char ts_unit[8];
    char server_name[64];
    char out[256];
    char label[128];
    /* resolved */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host_hdr[160];
    double ts_scale; /* multiply the timestamp field by this to get us */
} cg_opts_t;

/* 0 on success; on error prints to stderr and returns -1. Exits 0 on --help. */
int cg_opts_parse(int argc, char **argv, cg_opts_t *o);
const char *cg_opts_scenario_name(int s);
const char *cg_opts_kind_name(int k);
const char *cg_opts_transport_name(int t);

#endif
