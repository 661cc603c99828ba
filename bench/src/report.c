#include "report.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *phase_name(int p)
{
    static const char *const n[] = {"ramp", "measure", "drain", "done"};
    return n[p];
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

int cg_report_write(const cg_opts_t *o, const cg_report_t *r, const char *path)
{
    const cg_hist_t *h = &r->recv.hist;
    double win = r->measured_s > 0 ? r->measured_s : 1;
    json_t *j = json_object();
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

    json_object_set_new(j, "tool", json_string("cg-load"));
    json_object_set_new(j, "format", json_integer(1));
    json_object_set_new(j, "time", json_string(when));
    json_object_set_new(j, "label", json_string(o->label));
    json_object_set_new(j, "scenario", json_string(cg_opts_scenario_name(o->scenario)));
    json_object_set_new(j, "server", json_string(o->server_name));
    json_object_set_new(j, "server_kind", json_string(cg_opts_kind_name(o->kind)));
    json_object_set_new(j, "transport", json_string(cg_opts_transport_name(o->transport)));
    json_object_set_new(j, "target", json_string(o->host_hdr));
    json_object_set_new(j, "channel", json_string(o->channel));
    json_object_set_new(j, "clients", json_integer(o->clients));
    json_object_set_new(j, "connected", json_integer((json_int_t)r->recv.connected));
    json_object_set_new(j, "ready", json_integer((json_int_t)r->recv.ready));
    json_object_set_new(j, "all_ready", json_boolean(r->all_ready));
    json_object_set_new(j, "publishers", json_integer(o->publishers));
    json_object_set_new(j, "publishers_ready", json_integer((json_int_t)r->pub.ready));
    json_object_set_new(j, "workers", json_integer(r->nworkers));
    json_object_set_new(j, "rate", json_integer(o->rate));
    json_object_set_new(j, "payload_bytes", json_integer(o->payload));
    if (o->scenario == CG_SC_CHAT) {
        json_object_set_new(j, "room_size", json_integer(o->room_size));
        json_object_set_new(j, "burst_rooms", json_integer(o->burst_rooms));
    }
    json_object_set_new(j, "ramp_s", json_real(r->ramp_s));
    json_object_set_new(j, "duration_s", json_real(r->measured_s));
    json_object_set_new(j, "drain_s", json_real(r->drain_s));
    json_object_set_new(j, "sent", json_integer((json_int_t)r->pub.sent));
    json_object_set_new(j, "sent_per_s", json_real((double)r->pub.sent / win));
    json_object_set_new(j, "publish_acked", json_integer((json_int_t)r->pub.acked));
    json_object_set_new(j, "publish_errors", json_integer((json_int_t)r->pub.pub_err));
    json_object_set_new(j, "publish_skipped", json_integer((json_int_t)r->pub.pub_skipped));
    json_object_set_new(j, "expected_deliveries", json_integer((json_int_t)r->pub.expected));
    json_object_set_new(j, "deliveries", json_integer((json_int_t)r->recv.received));
    json_object_set_new(j, "deliveries_per_s", json_real((double)r->recv.received / win));
    json_object_set_new(j, "delivery_ratio",
                        r->pub.expected
                            ? json_real((double)r->recv.received / (double)r->pub.expected)
                            : json_null());
    json_object_set_new(j, "deliveries_without_ts", json_integer((json_int_t)r->recv.no_ts));
    json_object_set_new(j, "bytes_in", json_integer((json_int_t)r->recv.bytes_in));

    json_t *lat = json_object();
    json_object_set_new(lat, "count", json_integer((json_int_t)h->count));
    json_object_set_new(lat, "mean",
                        json_real(h->count ? (double)h->sum_us / (double)h->count / 1000.0 : 0));
    json_object_set_new(lat, "p50", json_real(ms(cg_hist_quantile(h, 0.50))));
    json_object_set_new(lat, "p90", json_real(ms(cg_hist_quantile(h, 0.90))));
    json_object_set_new(lat, "p99", json_real(ms(cg_hist_quantile(h, 0.99))));
    json_object_set_new(lat, "p99_9", json_real(ms(cg_hist_quantile(h, 0.999))));
    json_object_set_new(lat, "max", json_real(ms(h->max_us)));
    json_object_set_new(j, "latency_ms", lat);

    json_t *hist = json_array(); /* [upper bound us, count] of non-empty buckets */
    for (int i = 0; i < CG_HIST_BUCKETS; i++) {
        if (!h->buckets[i])
            continue;
        json_t *b = json_array();
        json_array_append_new(b, json_integer((json_int_t)cg_hist_bucket_high(i)));
        json_array_append_new(b, json_integer((json_int_t)h->buckets[i]));
        json_array_append_new(hist, b);
    }
    json_object_set_new(j, "histogram_us", hist);

    json_t *srv = json_object();
    if (r->have_server) {
        json_object_set_new(srv, "pid", json_integer(o->server_pid));
        json_object_set_new(srv, "cpu_percent", json_real(r->server_cpu_pct));
        json_object_set_new(srv, "rss_kb", json_integer(r->server_rss_kb));
        json_object_set_new(srv, "hwm_kb", json_integer(r->server_hwm_kb));
        json_object_set_new(srv, "rss_per_client_kb",
                            json_real(r->recv.connected
                                          ? (double)r->server_rss_kb / (double)r->recv.connected
                                          : 0));
    }
    json_object_set_new(j, "server_process", srv);
    json_object_set_new(j, "server_cpu_percent",
                        r->have_server ? json_real(r->server_cpu_pct) : json_null());
    json_object_set_new(j, "server_rss_kb",
                        r->have_server ? json_integer(r->server_rss_kb) : json_null());

    double tw = r->measured_s + r->drain_s;
    json_t *tool = json_object();
    json_object_set_new(tool, "receiver_cpu_percent",
                        json_real(tw > 0 ? 100.0 * r->recv_cpu_s / tw : 0));
    json_object_set_new(tool, "publisher_cpu_percent",
                        json_real(tw > 0 ? 100.0 * r->pub_cpu_s / tw : 0));
    json_object_set_new(
        tool, "deliveries_per_receiver_cpu_s",
        json_real(r->recv_cpu_s > 0 ? (double)r->recv.received / r->recv_cpu_s : 0));
    json_object_set_new(j, "tool_usage", tool);

    json_t *err = json_object();
    json_object_set_new(err, "connect_attempts",
                        json_integer((json_int_t)(r->recv.attempts + r->pub.attempts)));
    json_object_set_new(err, "connect_failures",
                        json_integer((json_int_t)(r->recv.conn_fail + r->pub.conn_fail)));
    json_object_set_new(err, "disconnects",
                        json_integer((json_int_t)(r->recv.disconnects + r->pub.disconnects)));
    json_object_set_new(err, "gave_up",
                        json_integer((json_int_t)(r->recv.gave_up + r->pub.gave_up)));
    json_object_set_new(err, "bayeux_errors",
                        json_integer((json_int_t)(r->recv.bayeux_err + r->pub.bayeux_err)));
    json_object_set_new(err, "rehandshakes",
                        json_integer((json_int_t)(r->recv.rehandshakes + r->pub.rehandshakes)));
    json_object_set_new(j, "errors", err);
    json_object_set_new(j, "interrupted", json_boolean(r->interrupted));

    json_t *tl = json_array();
    for (size_t i = 0; i < r->ntl; i++) {
        const cg_tl_point_t *p = &r->tl[i];
        json_t *e = json_object();
        json_object_set_new(e, "t", json_real(p->t));
        json_object_set_new(e, "phase", json_string(phase_name(p->phase)));
        json_object_set_new(e, "connected", json_integer((json_int_t)p->connected));
        json_object_set_new(e, "ready", json_integer((json_int_t)p->ready));
        json_object_set_new(e, "sent_per_s", json_real(p->sent_ps));
        json_object_set_new(e, "recv_per_s", json_real(p->recv_ps));
        json_object_set_new(e, "p50_ms", json_real(p->p50_ms));
        json_object_set_new(e, "p99_ms", json_real(p->p99_ms));
        json_object_set_new(e, "server_cpu_percent",
                            p->server_cpu_pct >= 0 ? json_real(p->server_cpu_pct) : json_null());
        json_array_append_new(tl, e);
    }
    json_object_set_new(j, "timeline", tl);

    int rc;
    if (strcmp(path, "-") == 0) {
        rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        fputc('\n', stdout);
        fflush(stdout);
    } else {
        rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    }
    json_decref(j);
    return rc == 0 ? 0 : -1;
}
