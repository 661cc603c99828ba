/* /healthz and /stats: what the loop can say about itself. */
#include "admin.h"
#include "http.h"
#include "log.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

void cg_admin_stats_json(cg_env_t *env, cg_buf_t *out)
{
    cg_bayeux_stats_t st;
    cg_bayeux_get_stats(env->bayeux, &st);
    size_t handoff_msgs = 0, handoff_bytes = 0;
    cg_handoff_fill(env->handoff, &handoff_msgs, &handoff_bytes);
    cg_buf_printf(out, "{\"sessions\":{\"total\":%zu", st.sessions);
    for (int t = 0; t < CG_TRANSPORT_COUNT; t++)
        cg_buf_printf(out, ",\"%s\":%zu", cg_transport_name((cg_transport_t)t), st.by_transport[t]);
    cg_buf_printf(
        out,
        "},\"subscriptions\":%zu,\"channels\":%zu,\"messages_in\":%llu,"
        "\"deliveries\":%llu,\"messages_out\":%llu,\"queue_drops\":%llu,\"discarded\":%llu,"
        "\"sessions_created\":%llu,\"sessions_swept\":%llu,"
        "\"sessions_overflowed\":%llu,\"errors\":%llu,\"peer_refused\":%llu,\"bus_rejected\":%llu,"
        "\"handoff\":{\"messages\":%zu,\"bytes\":%zu},\"rss_bytes\":%ld,\"uptime_s\":%llu",
        st.subscriptions, st.channels, (unsigned long long)st.messages_in,
        (unsigned long long)st.deliveries, (unsigned long long)st.messages_out,
        (unsigned long long)st.queue_drops, (unsigned long long)st.discarded,
        (unsigned long long)st.sessions_created, (unsigned long long)st.sessions_swept,
        (unsigned long long)st.sessions_overflowed, (unsigned long long)st.errors,
        (unsigned long long)st.peer_refused, (unsigned long long)st.bus_rejected, handoff_msgs,
        handoff_bytes, rss_bytes(), (unsigned long long)((cg_now_ms() - env->started_ms) / 1000));
    cg_buf_append_str(out, ",\"connectors\":[");
    for (int i = 0; i < env->nstats_sources; i++) {
        if (i)
            cg_buf_append(out, ",", 1);
        env->stats_sources[i].fn(env->stats_sources[i].arg, out);
    }
    cg_buf_append_str(out, "]}");
}

static int admin_request(cg_pss_t *pss)
{
    cg_env_t *env = pss->env;
    if (pss->method == CG_METHOD_OPTIONS) {
        cg_buf_reset(&pss->resp);
        return cg_http_respond(pss, 204, "text/plain");
    }
    if (pss->method != CG_METHOD_GET && pss->method != CG_METHOD_HEAD)
        return cg_http_respond_text(pss, 405, "method not allowed");
    cg_buf_reset(&pss->resp);
    int status = 200;
    if (!strcmp(pss->uri, "/healthz")) {
        cg_buf_printf(&pss->resp, "{\"status\":\"%s\",\"uptime_s\":%llu}",
                      env->stopping ? "stopping" : "ok",
                      (unsigned long long)((cg_now_ms() - env->started_ms) / 1000));
        status = env->stopping ? 503 : 200;
    } else {
        cg_admin_stats_json(env, &pss->resp);
    }
    return cg_http_respond(pss, status, "application/json; charset=utf-8");
}

const cg_handler_t cg_handler_admin = {
    .name = "admin",
    .request = admin_request,
};
