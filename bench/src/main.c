/* cg-load: Bayeux (CometD/Faye/cometgate) and nchan load generator.
 *
 * The parent forks receiver workers (and one publisher process), walks the
 * phases ramp -> measure -> drain, merges the workers' cumulative stats
 * (read from one pipe per worker), prints a progress line per second and
 * writes the JSON result. Every phase is bounded in time; workers also stop
 * on their own at a hard deadline or when the parent goes away. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "procstat.h"
#include "report.h"
#include "stats.h"
#include "worker.h"

typedef struct child {
    pid_t pid;
    int ctl_w;   /* parent writes commands */
    int stats_r; /* parent reads records */
    int is_pub;
    int alive; /* pipe still open */
    int got_final;
    size_t have;
    cg_stats_t cur;  /* record being read */
    cg_stats_t last; /* latest complete record */
    double cpu_at_go;
} child_t;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void send_all(child_t *ch, int n, char cmd)
{
    for (int i = 0; i < n; i++)
        if (ch[i].alive && write(ch[i].ctl_w, &cmd, 1) != 1)
            ch[i].alive = 0;
}

/* read whatever is available from the stats pipes, up to timeout_ms */
static void pump_stats(child_t *ch, int n, int timeout_ms)
{
    struct pollfd pf[CG_MAX_WORKERS + 1];
    int map[CG_MAX_WORKERS + 1], np = 0;
    for (int i = 0; i < n; i++) {
        if (!ch[i].alive)
            continue;
        pf[np].fd = ch[i].stats_r;
        pf[np].events = POLLIN;
        map[np++] = i;
    }
    if (np == 0) {
        usleep((useconds_t)timeout_ms * 1000);
        return;
    }
    if (poll(pf, (nfds_t)np, timeout_ms) <= 0)
        return;
    for (int k = 0; k < np; k++) {
        if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        child_t *c = &ch[map[k]];
        for (;;) {
            ssize_t r = read(c->stats_r, (char *)&c->cur + c->have, sizeof(c->cur) - c->have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (r == 0 || errno != EAGAIN)
                    c->alive = 0;
                break;
            }
            c->have += (size_t)r;
            if (c->have == sizeof(c->cur)) {
                if (c->cur.magic == CG_STATS_MAGIC) {
                    c->last = c->cur;
                    if (c->cur.final)
                        c->got_final = 1;
                }
                c->have = 0;
            }
        }
    }
}

static void merge(const child_t *ch, int n, cg_stats_t *recv, cg_stats_t *pub)
{
    memset(recv, 0, sizeof(*recv));
    memset(pub, 0, sizeof(*pub));
    for (int i = 0; i < n; i++) {
        const cg_stats_t *s = &ch[i].last;
        cg_stats_t *d = ch[i].is_pub ? pub : recv;
        d->target += s->target;
        d->attempts += s->attempts;
        d->connected += s->connected;
        d->ready += s->ready;
        d->conn_fail += s->conn_fail;
        d->disconnects += s->disconnects;
        d->gave_up += s->gave_up;
        d->bayeux_err += s->bayeux_err;
        d->rehandshakes += s->rehandshakes;
        d->connects += s->connects;
        d->sent += s->sent;
        d->acked += s->acked;
        d->pub_err += s->pub_err;
        d->pub_skipped += s->pub_skipped;
        d->expected += s->expected;
        d->received += s->received;
        d->no_ts += s->no_ts;
        d->bytes_in += s->bytes_in;
        d->cpu_us += s->cpu_us;
        cg_hist_merge(&d->hist, &s->hist);
    }
}

static const char *phase_label(int p)
{
    return p == CG_PH_RAMP      ? "ramp"
           : p == CG_PH_MEASURE ? "measure"
           : p == CG_PH_DRAIN   ? "drain"
                                : "done";
}

int main(int argc, char **argv)
{
    static cg_opts_t o;
    if (cg_opts_parse(argc, argv, &o) != 0)
        return 2;

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int nrecv = (int)o.workers;
    int nchild = nrecv + (o.publishers > 0 ? 1 : 0);
    static child_t ch[CG_MAX_WORKERS + 1];
    long deadline_s = o.ready_timeout + o.duration + o.drain + 30;

    for (int i = 0; i < nchild; i++) {
        int ctl[2], st[2];
        if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0) {
            perror("cg-load: pipe");
            return 1;
        }
        cg_worker_spec_t spec = {
            .id = i, .ctl_fd = ctl[0], .stats_fd = st[1], .deadline_s = deadline_s};
        if (i < nrecv) {
            spec.first = o.clients * i / nrecv;
            spec.count = o.clients * (i + 1) / nrecv - spec.first;
            spec.ramp_rate = o.ramp_rate / nrecv > 0 ? o.ramp_rate / nrecv : 1;
        } else {
            spec.is_pub = 1;
            spec.first = o.clients; /* source-address spreading continues after the receivers */
            spec.count = o.publishers;
            spec.ramp_rate = o.publishers;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("cg-load: fork");
            send_all(ch, i, 'Q');
            return 1;
        }
        if (pid == 0) {
            signal(SIGINT, SIG_IGN); /* the parent turns ^C into an orderly stop */
            signal(SIGTERM, SIG_DFL);
            for (int k = 0; k < i; k++) {
                close(ch[k].ctl_w);
                close(ch[k].stats_r);
            }
            close(ctl[1]);
            close(st[0]);
            cg_worker_run(&o, &spec);
        }
        close(ctl[0]);
        close(st[1]);
        ch[i] = (child_t){
            .pid = pid, .ctl_w = ctl[1], .stats_r = st[0], .is_pub = spec.is_pub, .alive = 1};
        fcntl(st[0], F_SETFL, O_NONBLOCK);
    }

    size_t tl_cap = (size_t)deadline_s + 8;
    cg_report_t rep = {.nworkers = nrecv, .tl = calloc(tl_cap, sizeof(cg_tl_point_t))};
    int tty = isatty(STDERR_FILENO);
    double t0 = mono_s(), t_go = 0, t_stop = 0, t_drain_end = 0;
    double next_tick = t0 + 1;
    int phase = CG_PH_RAMP;
    cg_stats_t recv, pub, prev_recv = {0}, prev_pub = {0};
    double srv_cpu_prev = o.server_pid ? cg_proc_cpu_s(o.server_pid) : -1, srv_cpu_go = -1,
           srv_cpu_stop = -1;
    double recv_cpu_go = 0, pub_cpu_go = 0;
    double hard_end = t0 + (double)deadline_s + 5;

    if (o.server_pid && srv_cpu_prev < 0)
        fprintf(stderr, "cg-load: warning: cannot read /proc/%ld/stat\n", o.server_pid);

    while (phase != CG_PH_DONE) {
        pump_stats(ch, nchild, 50);
        double now = mono_s();
        merge(ch, nchild, &recv, &pub);
        int alive = 0;
        for (int i = 0; i < nchild; i++)
            alive += ch[i].alive;
        if (stop_requested && phase != CG_PH_DRAIN) {
            rep.interrupted = 1;
            if (phase == CG_PH_RAMP) {
                t_go = now;
                recv_cpu_go = (double)recv.cpu_us / 1e6;
                pub_cpu_go = (double)pub.cpu_us / 1e6;
            }
            phase = CG_PH_DRAIN;
            t_stop = now;
            t_drain_end = now;
            send_all(ch, nchild, 'S');
        }
        if (alive == 0 || now > hard_end) {
            fprintf(stderr, "\ncg-load: %s\n",
                    alive ? "hard deadline reached" : "all workers exited early");
            rep.interrupted = 1;
            if (t_go == 0)
                t_go = now;
            if (t_stop == 0)
                t_stop = now;
            break;
        }
        if (phase == CG_PH_RAMP) {
            int all = recv.ready >= (uint64_t)o.clients && pub.ready >= (uint64_t)o.publishers;
            if (all || now - t0 >= (double)o.ready_timeout) {
                rep.all_ready = all;
                if (!all)
                    fprintf(stderr,
                            "\ncg-load: ready timeout: %llu/%ld clients, %llu/%ld publishers "
                            "ready; measuring anyway\n",
                            (unsigned long long)recv.ready, o.clients,
                            (unsigned long long)pub.ready, o.publishers);
                send_all(ch, nchild, 'G');
                phase = CG_PH_MEASURE;
                t_go = now;
                recv_cpu_go = (double)recv.cpu_us / 1e6;
                pub_cpu_go = (double)pub.cpu_us / 1e6;
                if (o.server_pid)
                    srv_cpu_go = cg_proc_cpu_s(o.server_pid);
                /* counters restart at 'G': rates of the first tick start from zero */
                memset(&prev_recv, 0, sizeof(prev_recv));
                memset(&prev_pub, 0, sizeof(prev_pub));
            }
        } else if (phase == CG_PH_MEASURE && now - t_go >= (double)o.duration) {
            send_all(ch, nchild, 'S');
            phase = CG_PH_DRAIN;
            t_stop = now;
            t_drain_end = now + (double)o.drain;
            if (o.server_pid) {
                srv_cpu_stop = cg_proc_cpu_s(o.server_pid);
                cg_proc_mem_kb(o.server_pid, &rep.server_rss_kb, &rep.server_hwm_kb);
            }
        } else if (phase == CG_PH_DRAIN && now >= t_drain_end) {
            phase = CG_PH_DONE;
        }
        if (now >= next_tick) {
            double dt = now - next_tick + 1.0;
            next_tick += 1.0;
            if (next_tick < now)
                next_tick = now + 1.0;
            /* before 'G' lands in every worker some records still carry old counters */
            double sps = pub.sent >= prev_pub.sent ? (double)(pub.sent - prev_pub.sent) / dt : 0;
            double rps = recv.received >= prev_recv.received
                             ? (double)(recv.received - prev_recv.received) / dt
                             : 0;
            prev_pub = pub;
            prev_recv = recv;
            double scpu = -1;
            if (o.server_pid) {
                double c = cg_proc_cpu_s(o.server_pid);
                if (c >= 0 && srv_cpu_prev >= 0)
                    scpu = 100.0 * (c - srv_cpu_prev) / dt;
                srv_cpu_prev = c;
            }
            double p50 = (double)cg_hist_quantile(&recv.hist, 0.5) / 1000.0;
            double p99 = (double)cg_hist_quantile(&recv.hist, 0.99) / 1000.0;
            if (rep.ntl < tl_cap)
                rep.tl[rep.ntl++] = (cg_tl_point_t){
                    now - t0, phase, recv.connected, recv.ready, sps, rps, p50, p99, scpu};
            if (!o.quiet) {
                char srv[32] = "";
                if (scpu >= 0)
                    snprintf(srv, sizeof(srv), " | srv %3.0f%%", scpu);
                fprintf(stderr,
                        "%s[%4.0fs %-7s] conn %llu/%ld ready %llu | sent/s %.0f recv/s %.0f | p50 "
                        "%.2fms p99 %.2fms | err %llu%s%s",
                        tty ? "\r\033[K" : "", now - t0, phase_label(phase),
                        (unsigned long long)recv.connected, o.clients,
                        (unsigned long long)recv.ready, sps, rps, p50, p99,
                        (unsigned long long)(recv.conn_fail + recv.disconnects + recv.bayeux_err +
                                             pub.conn_fail + pub.disconnects + pub.bayeux_err +
                                             pub.pub_err),
                        srv, tty ? "" : "\n");
            }
        }
    }
    if (!o.quiet && tty)
        fputc('\n', stderr);

    /* collect final records */
    double t_done = mono_s();
    if (o.server_pid && srv_cpu_stop < 0) {
        srv_cpu_stop = cg_proc_cpu_s(o.server_pid);
        cg_proc_mem_kb(o.server_pid, &rep.server_rss_kb, &rep.server_hwm_kb);
    }
    send_all(ch, nchild, 'Q');
    double wait_end = mono_s() + 5;
    for (;;) {
        int pending = 0;
        for (int i = 0; i < nchild; i++)
            pending += ch[i].alive && !ch[i].got_final;
        if (!pending || mono_s() > wait_end)
            break;
        pump_stats(ch, nchild, 50);
    }
    for (int i = 0; i < nchild; i++) {
        int st;
        pid_t r = waitpid(ch[i].pid, &st, WNOHANG);
        if (r == 0) {
            usleep(200000);
            if (waitpid(ch[i].pid, &st, WNOHANG) == 0) {
                kill(ch[i].pid, SIGKILL);
                waitpid(ch[i].pid, &st, 0);
            }
        }
    }
    merge(ch, nchild, &rep.recv, &rep.pub);
    rep.ramp_s = t_go - t0;
    rep.measured_s = t_stop - t_go;
    rep.drain_s = t_done - t_stop;
    rep.recv_cpu_s = (double)rep.recv.cpu_us / 1e6 - recv_cpu_go;
    rep.pub_cpu_s = (double)rep.pub.cpu_us / 1e6 - pub_cpu_go;
    if (o.server_pid && srv_cpu_go >= 0 && srv_cpu_stop >= 0 && rep.measured_s > 0) {
        rep.have_server = 1;
        rep.server_cpu_pct = 100.0 * (srv_cpu_stop - srv_cpu_go) / rep.measured_s;
    }

    const cg_hist_t *h = &rep.recv.hist;
    double win = rep.measured_s > 0 ? rep.measured_s : 1;
    fprintf(
        stderr,
        "cg-load: %s/%s %s: %llu/%ld ready, sent %.0f/s, delivered %.0f/s (%llu of %llu expected), "
        "latency ms p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f\n",
        o.server_name, cg_opts_scenario_name(o.scenario), cg_opts_transport_name(o.transport),
        (unsigned long long)rep.recv.ready, o.clients, (double)rep.pub.sent / win,
        (double)rep.recv.received / win, (unsigned long long)rep.recv.received,
        (unsigned long long)rep.pub.expected, cg_hist_quantile(h, .5) / 1000.0,
        cg_hist_quantile(h, .9) / 1000.0, cg_hist_quantile(h, .99) / 1000.0,
        cg_hist_quantile(h, .999) / 1000.0, h->max_us / 1000.0);
    int rc = cg_report_write(&o, &rep, o.out);
    free(rep.tl);
    if (rc != 0) {
        fprintf(stderr, "cg-load: cannot write %s\n", o.out);
        return 1;
    }
    /* The result is written either way; the exit status says whether the run was complete. */
    if (rep.interrupted) {
        fprintf(stderr, "cg-load: run interrupted: exit 4\n");
        return 4;
    }
    if (!rep.all_ready) {
        fprintf(stderr, "cg-load: not every client was ready before measuring: exit 3\n");
        return 3;
    }
    return 0;
}
