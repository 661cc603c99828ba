#include "opts.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { T_LONG, T_STR, T_ENUM, T_FLAG };

typedef struct opt_def {
    const char *name;
    int type;
    size_t off;
    size_t size;        /* T_STR: buffer size */
    const char *defval; /* "" = scenario default, resolved later */
    long min, max;
    const char *const *names; /* T_ENUM: NULL-terminated */
    const char *help;
} opt_def_t;

static const char *const kinds[] = {"cometd", "nchan", NULL};
static const char *const scenarios[] = {"chat", "broadcast", "idle", "kafka", NULL};
static const char *const transports[] = {"websocket", "long-polling", "http-streaming", "mix",
                                         NULL};
static const char *const pub_transports[] = {"websocket", NULL};

#define L(f) offsetof(cg_opts_t, f), 0
#define S(f) offsetof(cg_opts_t, f), sizeof(((cg_opts_t *)0)->f)

static const opt_def_t defs[] = {
    {"server-kind", T_ENUM, L(kind), "cometd", 0, 0, kinds, "cometd (cometgate, Faye) or nchan"},
    {"scenario", T_ENUM, L(scenario), "chat", 0, 0, scenarios, "chat | broadcast | idle | kafka"},
    {"transport", T_ENUM, L(transport), "websocket", 0, 0, transports,
     "receiver transport (cometd kind): websocket | long-polling | http-streaming | mix"},
    {"pub-transport", T_ENUM, L(pub_transport), "websocket", 0, 0, pub_transports,
     "publisher transport (cometd kind)"},
    {"target", T_STR, S(target), "127.0.0.1:8080", 0, 0, NULL,
     "HOST:PORT, loopback only (127.0.0.0/8, [::1], localhost)"},
    {"path", T_STR, S(path), "/cometd", 0, 0, NULL, "Bayeux endpoint path"},
    {"clients", T_LONG, L(clients), "100", 1, CG_MAX_CLIENTS, NULL, "receiving clients"},
    {"publishers", T_LONG, L(publishers), "-1", 0, CG_MAX_PUBLISHERS, NULL,
     "publisher connections (default 4 for chat/broadcast, 0 otherwise)"},
    {"workers", T_LONG, L(workers), "0", 0, CG_MAX_WORKERS, NULL,
     "receiver worker processes (0 = auto: one per 15,000 clients)"},
    {"ramp-rate", T_LONG, L(ramp_rate), "2000", 1, 1000000, NULL,
     "new connections per second, total"},
    {"duration", T_LONG, L(duration), "10", 1, CG_MAX_DURATION, NULL,
     "measured seconds after all are ready"},
    {"drain", T_LONG, L(drain), "2", 0, 60, NULL,
     "seconds to keep receiving after publishing stops"},
    {"ready-timeout", T_LONG, L(ready_timeout), "-1", -1, 3600, NULL,
     "max seconds to wait for all clients to be ready (default clients/ramp-rate + 15)"},
    {"rate", T_LONG, L(rate), "-1", 0, CG_MAX_RATE, NULL,
     "published messages per second, total (default chat 1000, broadcast 4)"},
    {"room-size", T_LONG, L(room_size), "200", 1, CG_MAX_CLIENTS, NULL, "chat: clients per room"},
    {"burst-rooms", T_LONG, L(burst_rooms), "10", 1, 10000, NULL, "chat: rooms per burst"},
    {"payload", T_LONG, L(payload), "-1", 0, 1 << 20, NULL,
     "filler bytes per message (default chat 50, broadcast 1024)"},
    {"channel", T_STR, S(channel), "", 0, 0, NULL,
     "subscribe channel (kafka default /stocks/**, broadcast /bench/broadcast, idle /bench/idle; "
     "chat: room prefix /chat)"},
    {"ts-field", T_STR, S(ts_field), "", 0, 0, NULL,
     "dotted path of the send timestamp in data (default t; kafka ts)"},
    {"ts-unit", T_STR, S(ts_unit), "us", 0, 0, NULL,
     "unit of the timestamp field: us | ms | ns (CLOCK_REALTIME)"},
    {"src-addrs", T_LONG, L(src_addrs), "16", 1, 250, NULL,
     "IPv4 source addresses 127.0.0.2.. to spread over"},
    {"server-pid", T_LONG, L(server_pid), "0", 0, 1 << 30, NULL,
     "server process: sample its CPU and RSS"},
    {"server-name", T_STR, S(server_name), "", 0, 0, NULL,
     "label of the server in the result (cometgate, faye, nchan)"},
    {"label", T_STR, S(label), "", 0, 0, NULL, "free-form run label copied to the result"},
    {"pub-inflight", T_LONG, L(pub_inflight), "32", 1, 1024, NULL,
     "nchan: pipelined POSTs per publisher connection"},
    {"max-retries", T_LONG, L(max_retries), "5", 0, 100, NULL,
     "reconnect attempts per client before giving up"},
    {"out", T_STR, S(out), "-", 0, 0, NULL, "JSON result file (- = stdout)"},
    {"quiet", T_FLAG, L(quiet), "0", 0, 1, NULL, "no progress line"},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

const char *cg_opts_scenario_name(int s)
{
    return scenarios[s];
}
const char *cg_opts_kind_name(int k)
{
    return kinds[k];
}
const char *cg_opts_transport_name(int t)
{
    return transports[t];
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cg-load [--option value]...\n"
               "Bayeux/nchan load generator for loopback targets only.\n\n");
    for (size_t i = 0; i < NDEFS; i++) {
        fprintf(f, "  --%-15s %s", defs[i].name, defs[i].help);
        if (defs[i].type == T_LONG && defs[i].defval[0] != '-' && strcmp(defs[i].defval, "0") != 0)
            fprintf(f, " [%s]", defs[i].defval);
        else if (defs[i].type == T_STR && defs[i].defval[0])
            fprintf(f, " [%s]", defs[i].defval);
        fputc('\n', f);
    }
}

static int set_opt(cg_opts_t *o, const opt_def_t *d, const char *v)
{
    char *base = (char *)o;
    switch (d->type) {
    case T_FLAG:
    case T_LONG: {
        char *e;
        long x = strtol(v, &e, 10);
        if (*v == 0 || *e) {
            fprintf(stderr, "cg-load: --%s: not an integer: '%s'\n", d->name, v);
            return -1;
        }
        /* the "-1" defaults mean "scenario default" and are not range-checked */
        if (!(x == -1 && strcmp(d->defval, "-1") == 0 && v == d->defval) &&
            (x < d->min || x > d->max)) {
            fprintf(stderr, "cg-load: --%s: %ld out of range [%ld, %ld]\n", d->name, x, d->min,
                    d->max);
            return -1;
        }
        *(long *)(base + d->off) = x;
        return 0;
    }
    case T_STR:
        if (strlen(v) >= d->size) {
            fprintf(stderr, "cg-load: --%s: too long\n", d->name);
            return -1;
        }
        strcpy(base + d->off, v);
        return 0;
    case T_ENUM:
        for (int i = 0; d->names[i]; i++) {
            if (strcmp(d->names[i], v) == 0) {
                *(int *)(base + d->off) = i;
                return 0;
            }
        }
        fprintf(stderr, "cg-load: --%s: unknown value '%s'\n", d->name, v);
        return -1;
    }
    return -1;
}

/* Only loopback: 127.0.0.0/8, ::1, or the name localhost (-> 127.0.0.1). */
static int resolve_target(cg_opts_t *o)
{
    char host[128];
    const char *port;
    const char *t = o->target;
    if (t[0] == '[') {
        const char *rb = strchr(t, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - t - 1) >= sizeof(host))
            goto bad;
        memcpy(host, t + 1, (size_t)(rb - t - 1));
        host[rb - t - 1] = 0;
        port = rb + 2;
    } else {
        const char *c = strrchr(t, ':');
        if (!c || (size_t)(c - t) >= sizeof(host))
            goto bad;
        memcpy(host, t, (size_t)(c - t));
        host[c - t] = 0;
        port = c + 1;
    }
    char *e;
    long p = strtol(port, &e, 10);
    if (*port == 0 || *e || p < 1 || p > 65535)
        goto bad;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    memset(&o->addr, 0, sizeof(o->addr));
    struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "cg-load: refusing non-loopback target %s (only 127.0.0.0/8 and ::1)\n",
                    host);
            return -1;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)p);
        o->addrlen = sizeof(*a4);
        snprintf(o->host_hdr, sizeof(o->host_hdr), "%s:%ld", host, p);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        if (memcmp(&a6->sin6_addr, &in6addr_loopback, sizeof(in6addr_loopback)) != 0) {
            fprintf(stderr, "cg-load: refusing non-loopback target %s (only 127.0.0.0/8 and ::1)\n",
                    host);
            return -1;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)p);
        o->addrlen = sizeof(*a6);
        snprintf(o->host_hdr, sizeof(o->host_hdr), "[%s]:%ld", host, p);
    } else {
        fprintf(stderr, "cg-load: target host must be a loopback address or localhost, got '%s'\n",
                host);
        return -1;
    }
    return 0;
bad:
    fprintf(stderr, "cg-load: --target must be HOST:PORT or [::1]:PORT, got '%s'\n", t);
    return -1;
}

static int resolve_defaults(cg_opts_t *o)
{
    int pubs = o->scenario == CG_SC_CHAT || o->scenario == CG_SC_BROADCAST;
    if (o->publishers < 0)
        o->publishers = pubs ? 4 : 0;
    if (!pubs)
        o->publishers = 0;
    if (pubs && o->publishers == 0) {
        fprintf(stderr, "cg-load: scenario %s needs --publishers >= 1\n", scenarios[o->scenario]);
        return -1;
    }
    if (o->rate < 0)
        o->rate = o->scenario == CG_SC_CHAT ? 1000 : 4;
    if (o->payload < 0)
        o->payload = o->scenario == CG_SC_BROADCAST ? 1024 : 50;
    if (!o->channel[0]) {
        const char *c = o->scenario == CG_SC_CHAT        ? "/chat"
                        : o->scenario == CG_SC_BROADCAST ? "/bench/broadcast"
                        : o->scenario == CG_SC_IDLE      ? "/bench/idle"
                                                         : "/stocks/**";
        strcpy(o->channel, c);
    }
    if (!o->ts_field[0])
        strcpy(o->ts_field, o->scenario == CG_SC_KAFKA ? "ts" : "t");
    if (strcmp(o->ts_unit, "us") == 0)
        o->ts_scale = 1.0;
    else if (strcmp(o->ts_unit, "ms") == 0)
        o->ts_scale = 1000.0;
    else if (strcmp(o->ts_unit, "ns") == 0)
        o->ts_scale = 0.001;
    else {
        fprintf(stderr, "cg-load: --ts-unit must be us, ms or ns\n");
        return -1;
    }
    if (o->channel[0] != '/') {
        fprintf(stderr, "cg-load: --channel must start with /\n");
        return -1;
    }
    if (o->kind == CG_KIND_NCHAN && o->transport != CG_TR_WS) {
        fprintf(stderr, "cg-load: nchan kind uses websocket subscribers only\n");
        return -1;
    }
    if (o->workers == 0)
        o->workers = (o->clients + 14999) / 15000;
    if (o->workers > o->clients)
        o->workers = o->clients;
    if ((o->clients + o->workers - 1) / o->workers > CG_MAX_CONNS_PER_WORKER) {
        fprintf(
            stderr,
            "cg-load: %ld clients over %ld workers exceeds %d sockets per process; add --workers\n",
            o->clients, o->workers, CG_MAX_CONNS_PER_WORKER);
        return -1;
    }
    if (o->ready_timeout < 0)
        o->ready_timeout = o->clients / o->ramp_rate + 15;
    if (!o->server_name[0])
        strcpy(o->server_name, kinds[o->kind]);
    return 0;
}

int cg_opts_parse(int argc, char **argv, cg_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < NDEFS; i++)
        if (set_opt(o, &defs[i], defs[i].defval) != 0)
            return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "cg-load: unexpected argument '%s'\n", a);
            return -1;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const opt_def_t *d = NULL;
        for (size_t k = 0; k < NDEFS; k++)
            if (strlen(defs[k].name) == nlen && strncmp(defs[k].name, name, nlen) == 0)
                d = &defs[k];
        if (!d) {
            fprintf(stderr, "cg-load: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        const char *v;
        if (eq)
            v = eq + 1;
        else if (d->type == T_FLAG)
            v = "1";
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            fprintf(stderr, "cg-load: --%s needs a value\n", d->name);
            return -1;
        }
        if (set_opt(o, d, v) != 0)
            return -1;
    }
    if (resolve_target(o) != 0)
        return -1;
    return resolve_defaults(o);
}
