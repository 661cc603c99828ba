/* The connector sections of the configuration file: `kafka`, `mqtt` and `routes`, parsed from the
 * YAML tree the core keeps (cg_config_section) with the same error style as the core:
 * "file:line: key: problem", every problem reported, nothing ignored (unknown keys, bad regexes,
 * bad templates, templates that cannot be filled for the route's source, librdkafka settings it
 * does not know or gives the wrong role). Each section is a settings table (settings.h).
 * Parsed once at start, then read-only. */
#ifndef CG_CONNECTORS_CONFIG_H
#define CG_CONNECTORS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../gateway/config.h"
#include "route.h"

typedef enum { CG_START_LATEST, CG_START_EARLIEST, CG_START_COMMITTED } cg_kafka_start_t;
const char *cg_kafka_start_name(cg_kafka_start_t s);

typedef enum { CG_KAFKA_CONSUMER, CG_KAFKA_PRODUCER } cg_kafka_role_t;

typedef struct cg_kafka_config {
    bool enabled; /* the section is present */
    char *bootstrap_servers;
    char *group_id;         /* commits; default "cometgate-<hostname>" (one group per node) */
    cg_kafka_start_t start; /* where a partition starts when first assigned */
    /* librdkafka properties, passed as they are: `client` to both roles, `consumer` and
     * `producer` to theirs only (set after client). Each was tried with rd_kafka_conf_set. */
    union {
        cg_kv_list_t client_props;
        struct { /* the same list under the names kafka.c has always read */
            cg_kv_t *client;
            size_t nclient;
        };
    };
    cg_kv_list_t consumer, producer;
    int64_t metadata_refresh_ms; /* how often new topics/partitions are looked for */
    int64_t produce_timeout_ms;  /* outbound: message.timeout.ms */
} cg_kafka_config_t;

typedef struct rd_kafka_conf_s rd_kafka_conf_t;
/* Sets kafka.client and then the role's own map on `conf`. 0, or -1 with librdkafka's reason. */
int cg_kafka_conf_apply(const cg_kafka_config_t *k, cg_kafka_role_t role, rd_kafka_conf_t *conf,
                        char *err, size_t errlen);
/* Did the configuration set librdkafka property `name` for this role? */
bool cg_kafka_conf_has(const cg_kafka_config_t *k, cg_kafka_role_t role, const char *name);

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

/* The settings tables of the kafka and mqtt sections and of one route (for the schema agreement
 * test). A route key's scope says where it may stand: */
#define CG_ROUTE_INBOUND 1u
#define CG_ROUTE_OUTBOUND 2u
size_t cg_connectors_config_tables(const cg_settings_table_t *const **out);

/* Parses the three sections of `cfg` (whose tree must be loaded). Reports every problem through
 * `report` and returns how many there were; *out is set when there were none. */
int cg_connectors_config_load(const cg_config_t *cfg, cg_connectors_config_t **out,
                              cg_config_report_fn report, void *arg);
void cg_connectors_config_free(cg_connectors_config_t *cc);
/* Prints the effective kafka/mqtt settings and routes as YAML (--check-config). Secrets masked. */
void cg_connectors_config_print(const cg_connectors_config_t *cc,
                                void (*out)(void *arg, const char *line), void *arg);

#endif
