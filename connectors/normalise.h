/* Normalisation: one bus message → one Bayeux item update (schemas/item-update.schema.json):
 *
 *   {"item":"AAPL","fields":{...},"source":{"bus":"kafka","route":"prices","topic":"prices",
 *    "partition":0,"offset":42,"key":"AAPL","timestamp":1718000000000}}
 *
 * fields: a JSON payload as it is (an object; any other JSON value becomes {"value":v}), msgpack
 * decoded to JSON (binary strings as base64), text as {"text":"..."}, bytes as
 * {"bytes":"<base64>"}; then the route's projection, if any. The data is encoded here, once per
 * message, and copied into the bus as it is. Thread: the connector's own (pure functions; the
 * caller owns every buffer). */
#ifndef CG_NORMALISE_H
#define CG_NORMALISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gateway/buf.h"
#include "route.h"

typedef enum { CG_BUS_KAFKA, CG_BUS_MQTT } cg_bus_kind_t;

/* A message as a connector received it. Pointers are borrowed for the call. */
typedef struct cg_inbound_msg {
    cg_bus_kind_t bus;
    const char *topic;
    const void *payload;
    size_t len;
    const void *key; /* Kafka */
    size_t key_len;
    bool has_key;
    int32_t partition;    /* Kafka */
    int64_t offset;       /* Kafka */
    int qos;              /* MQTT */
    bool retain;          /* MQTT */
    int64_t timestamp_ms; /* broker timestamp (Kafka), receive time (MQTT); <0: unknown */
} cg_inbound_msg_t;

/* Results: why a message was skipped (each counted per route). */
#define CG_NORM_OK 0
#define CG_NORM_EPAYLOAD (-1) /* not valid json/msgpack/UTF-8 for the route's format */
#define CG_NORM_EMISSING (-2) /* a template placeholder has no value in this message */
#define CG_NORM_ESIZE (-3)    /* payload larger than the route's max_size */
#define CG_NORM_ENOMEM (-4)

/* Builds the channel (NUL-terminated in `channel`) and the encoded data. Both buffers are reset
 * first. On an error, `err` says what was wrong. */
int cg_normalise(const cg_route_t *r, const cg_inbound_msg_t *m, cg_buf_t *channel, cg_buf_t *data,
                 char *err, size_t errlen);

/* Helpers shared with tests and connectors. */
bool cg_utf8_valid(const void *s, size_t n);
int cg_base64_append(cg_buf_t *out, const void *p, size_t n);
/* Decodes one msgpack object filling all of `len` into a new JSON value; NULL when invalid. */
json_t *cg_msgpack_to_json(const void *p, size_t len, char *err, size_t errlen);

#endif
