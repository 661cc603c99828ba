/* The connector sections of the configuration file: `kafka`, `mqtt` and `routes`, parsed from the
 * YAML tree the core keeps (cg_config_section) with the same error style as the core:
 * "file:line: key: problem", every problem reported, nothing ignored (unknown keys, bad regexes,
 * bad templates, librdkafka settings it does not know).
 * Parsed once at start, then read-only (route counters excepted: see route.h). */
#ifndef CG_CONNECTORS_CONFIG_H
#define CG_CONNECTORS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../gateway/config.h"
#include "route.h"

typedef enum { CG_START_LATEST, CG_START_EARLIEST, CG_START_COMMITTED } cg_kafka_start_t;
const char *cg_kafka_start_name(cg_kafka_start_t s);

typedef struct cg_kv {
    char *key;
    char *value;
} cg_kv_t;

typedef struct cg_kafka_config {
    bool enabled; /* the section is present */
    char *bootstrap_servers;
    char *group_id;         /* commits; default "cometgate-<hostname>" (one group per node) */
    cg_kafka_start_t start; /* where a partition starts when first assigned */
    cg_kv_t *client;        /* passed to librdkafka as they are */
    size_t nclient;
    int64_t metadata_refresh_ms; /* how often new topics/partitions are looked for */
    int64_t produce_timeout_ms;  /* outbound: message.timeout.ms */
} cg_kafka_config_t;

typedef struct cg_mqtt_config {
    bool enabled;
    char *uri;
    char *client_id; /* default "cometgate-<hostname>-<pid>" */
    char *username;
    char *password;
    int version; /* 4 (MQTT 3.1.1) or 5 */
    int qos;     /* subscriptions: 0 or 1 */
    bool clean_session;
    int64_t keepalive_s;
    int64_t connect_timeout_s;
    int64_t reconnect_min_s, reconnect_max_s;
    int64_t publish_timeout_ms;
} cg_mqtt_config_t;

typedef struct cg_connectors_config {
    cg_kafka_config_t kafka;
    cg_mqtt_config_t mqtt;
    cg_route_t **routes;
    size_t nroutes;
    size_t ninbound, noutbound;
} cg_connectors_config_t;

/* Parses the three sections of `cfg` (whose tree must be loaded). Reports every problem through
 * `report` and returns how many there were; *out is set when there were none. */
int cg_connectors_config_load(const cg_config_t *cfg, cg_connectors_config_t **out,
                              cg_config_report_fn report, void *arg);
void cg_connectors_config_free(cg_connectors_config_t *cc);
/* Prints the effective kafka/mqtt settings and routes as YAML (--check-config). Secrets masked. */
void cg_connectors_config_print(const cg_connectors_config_t *cc,
                                void (*out)(void *arg, const char *line), void *arg);

#endif
