#include "demo.h"
#include "../gateway/alloc.h"
#include "../gateway/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG "demo"

typedef struct ticker {
    const char *symbol;
    double last;
    long volume;
} ticker_t;

struct cg_demo {
    cg_demo_config_t cfg;
    cg_handoff_t *handoff;
    pthread_t thread;
    atomic_bool stop;
    ticker_t tickers[8];
    unsigned seed;
};

static double uniform(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (double)((*seed >> 8) & 0xFFFFFF) / (double)0x1000000;
}

static void *run(void *arg)
{
    cg_demo_t *d = arg;
    char channel[128], data[512];
    unsigned long drops = 0;
    size_t n = sizeof(d->tickers) / sizeof(d->tickers[0]);
    while (!atomic_load(&d->stop)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        long long ts = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        /* A few symbols move on each step, like a real tape. */
        for (size_t i = 0; i < n; i++) {
            if (uniform(&d->seed) > 0.5)
                continue;
            ticker_t *t = &d->tickers[i];
            double prev = t->last;
            t->last *= 1.0 + (uniform(&d->seed) - 0.5) * 0.004;
            t->volume += (long)(uniform(&d->seed) * 500) + 1;
            double spread = t->last * 0.0005;
            snprintf(channel, sizeof(channel), "%s/%s", d->cfg.channel_prefix, t->symbol);
            int len = snprintf(data, sizeof(data),
                               "{\"item\":\"%s\",\"fields\":{\"last\":%.2f,\"bid\":%.2f,"
                               "\"ask\":%.2f,\"change\":%.2f,\"volume\":%ld},"
                               "\"source\":{\"bus\":\"demo\",\"timestamp\":%lld}}",
                               t->symbol, t->last, t->last - spread, t->last + spread,
                               t->last - prev, t->volume, ts);
            if (cg_handoff_push(d->handoff, channel, data, (size_t)len) == CG_HANDOFF_EFULL)
                drops++; /* demo data is disposable: never wait for the loop */
        }
        /* Sleep in short slices so a stop never waits a whole interval. */
        for (int64_t left = d->cfg.interval_ms; left > 0 && !atomic_load(&d->stop); left -= 50) {
            int64_t ms = left < 50 ? left : 50;
            struct timespec sl = {0, (long)ms * 1000000L};
            nanosleep(&sl, NULL);
        }
    }
    if (drops)
        cg_log(CG_LOG_INFO, TAG, "%lu demo updates skipped while the handoff was full", drops);
    return NULL;
}

cg_demo_t *cg_demo_start(const cg_demo_config_t *cfg, cg_handoff_t *handoff)
{
    static const struct {
        const char *s;
        double p;
    } init[8] = {{"AAPL", 189.5}, {"MSFT", 402.1}, {"GOOG", 141.7}, {"AMZN", 178.2},
                 {"NVDA", 875.3}, {"TSLA", 171.9}, {"META", 497.4}, {"NFLX", 612.8}};
    cg_demo_t *d = cg_calloc(1, sizeof(*d));
    d->cfg = *cfg;
    d->handoff = handoff;
    d->seed = (unsigned)time(NULL);
    for (int i = 0; i < 8; i++) {
        d->tickers[i].symbol = init[i].s;
        d->tickers[i].last = init[i].p;
        d->tickers[i].volume = 1000;
    }
    atomic_init(&d->stop, false);
    if (pthread_create(&d->thread, NULL, run, d)) {
        cg_log(CG_LOG_ERR, TAG, "cannot start the demo feed thread");
        free(d);
        return NULL;
    }
    cg_log(CG_LOG_NOTICE, TAG, "demo feed publishing on %s/* every %lld ms", cfg->channel_prefix,
           (long long)cfg->interval_ms);
    return d;
}

void cg_demo_stop(cg_demo_t *d)
{
    if (!d)
        return;
    atomic_store(&d->stop, true);
    pthread_join(d->thread, NULL);
    free(d);
}
