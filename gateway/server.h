/* The lws context: listening socket, routing (Bayeux, /healthz, /stats, static files) to the
 * connection kinds of transport.h, the periodic tick, and graceful stop.
 * Thread: everything runs on the caller of cg_server_run (the lws service thread). */
#ifndef CG_SERVER_H
#define CG_SERVER_H

#include <signal.h>

#include "bayeux.h"
#include "handoff.h"
#include "config.h"
#include "stats.h"

typedef struct cg_server cg_server_t;

cg_server_t *cg_server_create(const cg_config_t *cfg, cg_bayeux_t *bayeux, cg_handoff_t *handoff);
void cg_server_add_stats(cg_server_t *srv, cg_stats_fn fn, void *arg);
/* Flags set by signal handlers. */
typedef struct cg_server_signals {
    volatile sig_atomic_t *stop; /* SIGTERM, SIGINT */
    volatile sig_atomic_t *hup;  /* SIGHUP: logged (reload is not implemented yet) */
} cg_server_signals_t;

/* Serves until *stop becomes non-zero, then tells every session to re-handshake and gives the
 * writes up to `drain_ms` to finish. 0 on a clean stop. */
int cg_server_run(cg_server_t *srv, const cg_server_signals_t *signals, int drain_ms);
/* One turn of the loop; 0 does not wait (the fuzzer drives the loop this way), otherwise it
 * waits for the next event or timer. */
int cg_server_service(cg_server_t *srv, int timeout_ms);
/* Any thread: wakes the service loop (lws_cancel_service); used as the handoff waker. */
void cg_server_wake(void *srv);
/* Loop thread: dispatches what is on the handoff now (used once more after connectors stopped, so
 * their last completions run and free what they carry). */
void cg_server_drain_handoff(cg_server_t *srv);
/* The port actually bound (useful with port 0). */
int cg_server_port(const cg_server_t *srv);
void cg_server_destroy(cg_server_t *srv);

#endif
