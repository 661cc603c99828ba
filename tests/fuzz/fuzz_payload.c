/* libFuzzer target: broker payloads through cg_normalise, in every route format.
 *
 * The first byte picks the case: bits 0-1 the format (json, msgpack, text, bytes), bit 2 a route
 * with a projection and {field.*} templates instead of a plain one, bit 3 MQTT instead of Kafka,
 * bit 4 a Kafka key (its length in the next byte, then the key). The rest is the payload. An
 * accepted message must come out as a JSON object with a NUL-terminated channel. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors_config.h"
#include "normalise.h"
#include "route.h"

static const char routes_yaml[] =
    "mqtt: {uri: 'tcp://h:1'}\n"
    "kafka: {bootstrap_servers: 'h:1'}\n"
    "routes:\n"
    "  - {name: j, kafka: t, format: json, channel: '/j/{key}'}\n"
    "  - {name: m, kafka: t, format: msgpack, channel: '/m/{partition}'}\n"
    "  - {name: x, kafka: t, format: text, channel: '/x/{topic}'}\n"
    "  - {name: b, kafka: t, format: bytes, channel: '/b', max_size: 4096}\n"
    "  - {name: jp, kafka: t, format: json, channel: '/jp/{field.a.b}', item: '{field.id}',\n"
    "     fields: {p: a.b, q: c, r: a}}\n"
    "  - {name: mp, kafka: t, format: msgpack, channel: '/mp/{field.a}', item: '{key}-{field.b}',\n"
    "     fields: {p: a, q: b.c}}\n"
    "  - {name: xp, kafka: t, format: text, channel: '/xp/{field.text}', fields: {t: text}}\n"
    "  - {name: bp, kafka: t, format: bytes, channel: '/bp/{key}', fields: {b: bytes}}\n"
    "  - {name: qj, mqtt: 'q/+', format: json, channel: '/q/{1}/{field.a}'}\n"
    "  - {name: qm, mqtt: 'q/+', format: msgpack, channel: '/q/{1}'}\n"
    "  - {name: qx, mqtt: 'q/+', format: text, channel: '/q/{1}'}\n"
    "  - {name: qb, mqtt: 'q/+', format: bytes, channel: '/q/{1}'}\n";

static cg_connectors_config_t *routes(void)
{
    static cg_connectors_config_t *cc;
    if (cc)
        return cc;
    static cg_config_t cfg;
    cg_config_defaults(&cfg);
    if (cg_config_load_text(&cfg, "fuzz.yaml", routes_yaml, strlen(routes_yaml), NULL, NULL) ||
        cg_connectors_config_load(&cfg, &cc, NULL, NULL) || !cc || cc->nroutes != 12) {
        fprintf(stderr, "fuzz_payload: the routes do not load\n");
        abort();
    }
    cg_config_free(&cfg);
    return cc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    cg_connectors_config_t *cc = routes();
    unsigned sel = data[0];
    data++, size--;
    bool mqtt = sel & 8;
    size_t idx = (sel & 3) + (mqtt ? 8 : (sel & 4) ? 4 : 0);
    cg_inbound_msg_t m = {.bus = mqtt ? CG_BUS_MQTT : CG_BUS_KAFKA,
                          .topic = mqtt ? "q/dev" : "t",
                          .partition = 3,
                          .offset = 42,
                          .qos = 1,
                          .timestamp_ms = -1};
    if (!mqtt && (sel & 16) && size) {
        size_t n = data[0] <= size - 1 ? data[0] : size - 1;
        m.key = n ? data + 1 : NULL;
        m.key_len = n;
        m.has_key = true;
        data += 1 + n, size -= 1 + n;
    }
    /* An exact-size copy, so ASan sees any read past the payload; NULL when empty, as a bus may
     * hand an empty payload over. */
    uint8_t *payload = size ? malloc(size) : NULL;
    if (size)
        memcpy(payload, data, size);
    m.payload = payload;
    m.len = size;

    cg_buf_t channel, out;
    cg_buf_init(&channel, 0);
    cg_buf_init(&out, 0);
    char err[256];
    int rc = cg_normalise(cc->routes[idx], &m, &channel, &out, err, sizeof(err));
    if (rc == CG_NORM_OK) {
        json_error_t je;
        json_t *j = json_loadb(cg_buf_data(&out), out.len, 0, &je);
        if (!j || !json_is_object(json_object_get(j, "fields")) ||
            !json_is_object(json_object_get(j, "source"))) {
            fprintf(stderr, "fuzz_payload: route %s made an invalid item update: %s\n%.*s\n",
                    cc->routes[idx]->name, j ? "fields/source missing" : je.text, (int)out.len,
                    cg_buf_data(&out));
            abort();
        }
        json_decref(j);
        if (!channel.len || cg_buf_data(&channel)[channel.len] != '\0' ||
            strlen(cg_buf_data(&channel)) != channel.len)
            abort();
    } else if (rc != CG_NORM_EPAYLOAD && rc != CG_NORM_EMISSING && rc != CG_NORM_ESIZE) {
        fprintf(stderr, "fuzz_payload: unexpected result %d: %s\n", rc, err);
        abort();
    }
    cg_buf_free(&channel);
    cg_buf_free(&out);
    free(payload);
    return 0;
}
