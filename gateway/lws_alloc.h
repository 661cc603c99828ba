/* The allocator the gateway gives libwebsockets (lws_set_allocator).
 *
 * Why: lws 4.1.6 frees a connection's header table and then reads it again when a keep-alive
 * connection sends a request with an Upgrade header other than websocket/h2c (its "Unknown
 * upgrade" branch answers 403, completes the transaction, which frees the table, then compares
 * the Upgrade value once more) — a use-after-free any client can trigger, found by fuzz_http.
 * Header tables freed by lws are therefore kept until the end of the current loop turn
 * (cg_lws_alloc_release), so that late read finds the memory it expects; everything else is
 * plain realloc/free.
 *
 * Thread: lws allocates only on the service thread; so does the release. */
#ifndef CG_LWS_ALLOC_H
#define CG_LWS_ALLOC_H

/* Installs the allocator: before the first lws call. */
void cg_lws_alloc_install(void);
/* Frees what lws freed during the loop turn that just ended. */
void cg_lws_alloc_release(void);

#endif
