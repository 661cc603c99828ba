/* Configuration: built-in defaults, overridden by a YAML file (-c) and the command line.
 *
 * One settings table (config.c: `settings[]`, read with settings.h) lists every core key with its
 * type, default, bounds and a doc line; schemas/config.schema.json describes the same file (a test
 * checks they agree). Sections owned by connectors (`kafka`, `mqtt`, `routes`) are SECTION entries
 * of that table, kept as YAML subtrees and read by their modules with their own tables.
 * Bad values are errors naming file:line and key; nothing is clamped silently.
 * Loaded once at start, then read-only. */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"
#include "yaml_tree.h"

typedef struct cg_limits_config {
    int64_t max_body;       /* HTTP request body, bytes (413 above) */
    int64_t max_ws_message; /* WebSocket message, bytes (close 1009 above) */
    int64_t max_sessions;
    int64_t max_subscriptions; /* per session */
    int64_t max_channel_length;
    int64_t max_batch;      /* messages per request or frame */
    int64_t queue_messages; /* per-session queue bound */
    int64_t queue_bytes;
    int64_t max_message_size;       /* one published message, encoded */
    int64_t max_subscription_bytes; /* per session: 128 + name length per subscription */
    int64_t peer_max_sessions;      /* sessions created from one peer address */
    int64_t peer_handshake_rate;    /* handshakes per second per peer address (token bucket) */
    int64_t peer_handshake_burst;
    int64_t body_timeout_ms; /* after this, a request body slower than body_min_rate is cut */
    int64_t body_min_rate;   /* bytes per second */
} cg_limits_config_t;

typedef struct cg_bayeux_config {
    int64_t timeout_ms;      /* advice.timeout: a /meta/connect is held this long */
    int64_t interval_ms;     /* advice.interval */
    int64_t max_interval_ms; /* a session without a connect for this long is swept */
    int64_t multiple_clients_interval_ms;
    int64_t ws_ping_s; /* WebSocket keep-alive pings; 0 off */
    bool ws_deflate;   /* permessage-deflate when the client offers it */
    char path[64];     /* mount point, "/cometd" */
} cg_bayeux_config_t;

typedef struct cg_demo_config {
    bool enabled;
    int64_t interval_ms;
    char channel_prefix[64]; /* "/demo/ticker" */
} cg_demo_config_t;

typedef struct cg_handoff_config {
    int64_t max_messages;
    int64_t max_bytes;
} cg_handoff_config_t;

typedef struct cg_config {
    char source[256]; /* file name, or "built-in" */
    char listen_host[64];
    int listen_port;
    char static_dir[256]; /* "" disables static files */
    char log_level[16];
    char event_loop[8];        /* "epoll" (libev) or "poll" (lws's own) */
    int64_t stats_interval_ms; /* period of /meta-free stats publishes on /cometgate/stats; 0 off */
    cg_bayeux_config_t bayeux;
    cg_limits_config_t limits;
    cg_demo_config_t demo;
    cg_handoff_config_t handoff; /* the queue from connector threads to the loop */
    cg_yaml_node_t *tree;        /* the whole file; connector sections are read from it */
} cg_config_t;

/* Fills built-in defaults. */
void cg_config_defaults(cg_config_t *c);
/* Loads `path` over the defaults. Every problem is reported through `report` as
 * "file:line: key: problem"; returns the number of problems (0 = ok). */
int cg_config_load_file(cg_config_t *c, const char *path, cg_config_report_fn report, void *arg);
/* Same, from text (tests, fuzzing). */
int cg_config_load_text(cg_config_t *c, const char *name, const char *text, size_t len,
                        cg_config_report_fn report, void *arg);
/* "host:port" into the listen fields. 0 or -1. */
int cg_config_set_listen(cg_config_t *c, const char *hostport);
void cg_config_free(cg_config_t *c);

/* A connector's section of the file (NULL when absent). */
const cg_yaml_node_t *cg_config_section(const cg_config_t *c, const char *name);

/* The core settings table (for the schema agreement test). */
const cg_settings_table_t *cg_config_table(void);

/* Prints the effective settings as YAML. */
void cg_config_print(const cg_config_t *c, void (*out)(void *arg, const char *line), void *arg);

#endif
