/* cometgate: bridges message buses (Kafka, MQTT) to browsers over Bayeux. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../connectors/connector.h"
#include "../connectors/demo.h"
#include "bayeux.h"
#include "handoff.h"
#include "config.h"
#include "log.h"
#include "alloc.h"
#include "server.h"

#ifndef CG_VERSION
#define CG_VERSION "0.1.0"
#endif

static volatile sig_atomic_t stop_requested, hup_received;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        hup_received = 1;
    else
        stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cometgate [-c FILE] [--listen HOST:PORT] [--check-config] [--version] "
            "[--help]\n"
            "\n"
            "  -c, --config FILE     YAML configuration (default: built-in, with a demo feed)\n"
            "  -l, --listen HOST:PORT  address to bind (overrides the configuration)\n"
            "      --log-level LEVEL error, warn, notice, info or debug\n"
            "      --check-config    load and validate the configuration, print it, exit\n"
            "  -V, --version         print the version\n"
            "  -h, --help            this text\n");
}

static void report_to_stderr(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

static void print_line(void *arg, const char *line)
{
    fprintf((FILE *)arg, "%s\n", line);
}

/* The connectors' /stats sources go to the server through this, so they need not know it. */
static void add_stats(void *srv, cg_stats_fn fn, void *arg)
{
    cg_server_add_stats(srv, fn, arg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"check-config", no_argument, NULL, 'k'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"log-level", required_argument, NULL, 'L'},
                                         {NULL, 0, NULL, 0}};
    cg_alloc_init();
    const char *config_path = NULL, *listen = NULL, *log_level = NULL;
    bool check_only = false;
    int o;
    while ((o = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'k':
            check_only = true;
            break;
        case 'L':
            log_level = optarg;
            break;
        case 'V':
            printf("cometgate %s\n", CG_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cometgate: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    static cg_config_t cfg;
    cg_config_defaults(&cfg);
    if (config_path && cg_config_load_file(&cfg, config_path, report_to_stderr, NULL)) {
        /* Name the connector sections' errors too: one run lists every problem. */
        cg_connectors_config_t *partial = NULL;
        if (cfg.tree && !cg_connectors_config_load(&cfg, &partial, report_to_stderr, NULL))
            cg_connectors_config_free(partial);
        fprintf(stderr, "cometgate: configuration %s has errors\n", config_path);
        cg_config_free(&cfg);
        return 2;
    }
    if (listen && cg_config_set_listen(&cfg, listen)) {
        fprintf(stderr, "cometgate: --listen: '%s' is not HOST:PORT\n", listen);
        return 2;
    }
    if (log_level)
        snprintf(cfg.log_level, sizeof(cfg.log_level), "%s", log_level);
    cg_log_level_t lvl;
    if (cg_log_level_from_name(cfg.log_level, &lvl)) {
        fprintf(stderr, "cometgate: unknown log level '%s'\n", cfg.log_level);
        return 2;
    }
    cg_log_set_level(lvl);
    /* The connector sections (kafka, mqtt, routes): validated here, errors as file:line. */
    cg_connectors_config_t *ccfg = NULL;
    if (cg_connectors_config_load(&cfg, &ccfg, report_to_stderr, NULL)) {
        fprintf(stderr, "cometgate: configuration %s has errors\n", cfg.source);
        cg_config_free(&cfg);
        return 2;
    }
    if (check_only) {
        printf("# %s: ok\n", cfg.source);
        cg_config_print(&cfg, print_line, stdout);
        cg_connectors_config_print(ccfg, print_line, stdout);
        cg_connectors_config_free(ccfg);
        cg_config_free(&cfg);
        return 0;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the poll in lws_service must return */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* its default would end the process */
    /* Every thread started from here on (demo, connectors, librdkafka's and paho's own) inherits
     * a mask without SIGTERM/SIGINT, so the signal interrupts the loop thread's epoll_wait
     * instead of landing on a connector thread while the loop sleeps. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    cg_handoff_limits_t bl = {(size_t)cfg.handoff.max_messages, (size_t)cfg.handoff.max_bytes};
    cg_handoff_t *handoff = cg_handoff_create(&bl);
    cg_bayeux_t *bayeux = cg_bayeux_create(&cfg);
    cg_server_t *srv = NULL;
    cg_demo_t *demo = NULL;
    cg_connectors_t *connectors = NULL;
    if (!handoff || !bayeux)
        goto out;
    srv = cg_server_create(&cfg, bayeux, handoff);
    if (!srv)
        goto out;
    cg_handoff_set_waker(handoff, cg_server_wake, srv);
    cg_log(CG_LOG_NOTICE, "main", "cometgate %s listening on %s:%d, Bayeux at %s (config: %s)",
           CG_VERSION, cfg.listen_host, cg_server_port(srv), cfg.bayeux.path, cfg.source);
    if (cfg.demo.enabled)
        demo = cg_demo_start(&cfg.demo, handoff);
    cg_stats_registry_t stats = {.add_stats = add_stats, .arg = srv};
    connectors = cg_connectors_start(ccfg, handoff, bayeux, &stats); /* takes ccfg */
    ccfg = NULL;

    pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
    cg_server_signals_t signals = {.stop = &stop_requested, .hup = &hup_received};
    rc = cg_server_run(srv, &signals, 500) ? 1 : 0;

out:
    /* Producers first: nothing may push into a handoff whose loop is gone. */
    if (handoff)
        cg_handoff_close(handoff);
    cg_demo_stop(demo);
    cg_connectors_stop(connectors);
    cg_connectors_config_free(ccfg); /* only when the connectors never started */
    if (srv)
        cg_server_drain_handoff(srv);
    cg_server_destroy(srv);
    cg_bayeux_destroy(bayeux);
    cg_handoff_destroy(handoff);
    cg_config_free(&cfg);
    cg_log(CG_LOG_NOTICE, "main", "stopped");
    return rc;
}
