/* Unit tests: the connector sections read through their settings tables (connectors_config.c):
 * units wherever a size or duration is, the template mistakes --check-config must refuse (each
 * failed on every message before), the per-role librdkafka maps, and every problem in one run. */
#include <stdlib.h>

#include "../cg_test.h"
#include "connectors_config.h"
#include "load_config.h"

static char reported[8192];
static void report(void *arg, const char *line)
{
    (void)arg;
    strncat(reported, line, sizeof(reported) - strlen(reported) - 2);
    strcat(reported, "\n");
}

/* Loads `text` (core first, then the connector sections); the number of problems. */
static int load(const char *text, cg_connectors_config_t **out)
{
    reported[0] = '\0';
    return cg_test_load_config(text, out, report);
}

/* One bad config: exactly one problem, and it says `want`. */
static void refused(const char *text, const char *want)
{
    cg_connectors_config_t *cc;
    int e = load(text, &cc);
    CHECK(e == 1);
    if (!strstr(reported, want)) {
        fprintf(stderr, "  wanted: %s\n  got:    %s", want, reported);
        CHECK(!"the problem named");
    }
    cg_connectors_config_free(cc);
}

#define KAFKA "kafka: {bootstrap_servers: 'h:1'}\n"
#define MQTT "mqtt: {uri: 'tcp://h:1'}\n"

static void test_units(void)
{
    cg_connectors_config_t *cc;
    CHECK(load("kafka: {bootstrap_servers: 'h:1', metadata_refresh_ms: 2s, produce_timeout_ms: "
               "1m}\nmqtt: {uri: 'tcp://h:1', keepalive_s: 2m, reconnect_min_s: 2000ms, "
               "reconnect_max_s: 10s, publish_timeout_ms: 750ms}\nroutes:\n"
               "  - {kafka: t, channel: /a, max_size: 1m}\n"
               "  - {mqtt: 'a/+', channel: '/b/{2}', max_size: 512}\n",
               &cc) == 0);
    if (!cc)
        return;
    CHECK(cc->kafka.metadata_refresh_ms == 2000);
    CHECK(cc->kafka.produce_timeout_ms == 60000);
    CHECK(cc->mqtt.keepalive_s == 120);
    CHECK(cc->mqtt.reconnect_min_s == 2);
    CHECK(cc->mqtt.reconnect_max_s == 10);
    CHECK(cc->mqtt.publish_timeout_ms == 750);
    CHECK(cc->routes[0]->max_size == 1048576);
    CHECK(cc->routes[1]->max_size == 512);
    cg_connectors_config_free(cc);

    refused(KAFKA "routes:\n  - {kafka: t, channel: /a, max_size: 2x}\n",
            "t.yaml:3: routes[0].max_size: '2x' is not a size");
    refused("mqtt: {uri: 'tcp://h:1', connect_timeout_s: 1500ms}\n",
            "mqtt.connect_timeout_s: '1500ms' is not a duration (seconds");
    refused(KAFKA "routes:\n  - {kafka: t, channel: /a, max_size: 2g}\n",
            "routes[0].max_size: 2147483648 is out of range [1, 1073741824]");
}

/* issue #9: each of these passed --check-config and then failed on every message. */
static void test_template_mistakes(void)
{
    refused(MQTT "routes:\n  - {mqtt: 'a/+', channel: '/x/{2}', item: '{5}'}\n",
            "t.yaml:3: routes[0].item: {5}: the topic filter 'a/+' has only 2 levels");
    refused(MQTT "routes:\n  - {mqtt: 'a/+', channel: '/x/{3}'}\n",
            "routes[0].channel: {3}: the topic filter 'a/+' has only 2 levels");
    refused(KAFKA "routes:\n  - {kafka: t, format: bytes, channel: '/x/{field.id}'}\n",
            "routes[0].channel: {field.id}: a bytes route's payload has only the field 'bytes'");
    refused(KAFKA "routes:\n  - {kafka: t, format: text, channel: /x, item: '{field.id}'}\n",
            "routes[0].item: {field.id}: a text route's payload has only the field 'text'");
    refused(KAFKA "routes:\n  - {kafka: t, format: text, channel: /x, fields: {v: id}}\n",
            "routes[0]: fields: 'id': a text route's payload has only the field 'text'");
    refused(KAFKA "routes:\n  - {publish: '/chat/*', to_kafka: 'c-{3}'}\n",
            "routes[0].to_kafka: {3}: the channel pattern '/chat/*' has only 2 levels");
    refused(KAFKA "routes:\n  - {publish: '/chat/*', to_kafka: c, key: '{4}'}\n",
            "routes[0].key: {4}: the channel pattern '/chat/*' has only 2 levels");
    refused(MQTT "routes:\n  - {publish: '/c/*', to_mqtt: 'c/{2}/{3}'}\n",
            "routes[0].to_mqtt: {3}: the channel pattern '/c/*' has only 2 levels");

    /* ...and what stays allowed: deeper levels under # and **, the one field of text/bytes. */
    cg_connectors_config_t *cc;
    CHECK(load(MQTT KAFKA "routes:\n  - {mqtt: 'a/#', channel: '/x/{2}/{9}'}\n"
                          "  - {mqtt: 'a/+/c', channel: '/y/{3}'}\n"
                          "  - {kafka: t, format: text, channel: /t, item: '{field.text}'}\n"
                          "  - {kafka: u, format: bytes, channel: /u, fields: [bytes]}\n"
                          "  - {publish: '/p/**', to_kafka: 'p-{7}'}\n"
                          "  - {publish: '/q/*', to_mqtt: 'q/{1}/{2}'}\n",
               &cc) == 0);
    CHECK(cc && cc->nroutes == 6);
    cg_connectors_config_free(cc);
}

static void test_kafka_maps(void)
{
    cg_connectors_config_t *cc;
    CHECK(load("kafka:\n  bootstrap_servers: 'h:1'\n  client: {client.id: gw}\n"
               "  consumer: {fetch.wait.max.ms: '50'}\n  producer: {linger.ms: '5'}\n",
               &cc) == 0);
    if (cc) {
        CHECK(cc->kafka.nclient == 1 && cc->kafka.consumer.n == 1 && cc->kafka.producer.n == 1);
        CHECK(cg_kafka_conf_has(&cc->kafka, CG_KAFKA_CONSUMER, "client.id"));
        CHECK(cg_kafka_conf_has(&cc->kafka, CG_KAFKA_CONSUMER, "fetch.wait.max.ms"));
        CHECK(!cg_kafka_conf_has(&cc->kafka, CG_KAFKA_PRODUCER, "fetch.wait.max.ms"));
        CHECK(cg_kafka_conf_has(&cc->kafka, CG_KAFKA_PRODUCER, "linger.ms"));
    }
    cg_connectors_config_free(cc);
    refused("kafka:\n  bootstrap_servers: 'h:1'\n  client:\n    fetch.wait.max.ms: '50'\n",
            "t.yaml:4: kafka.client.fetch.wait.max.ms: a consumer property: put it under "
            "kafka.consumer:");
    refused("kafka:\n  bootstrap_servers: 'h:1'\n  producer:\n    session.timeout.ms: '50'\n",
            "kafka.producer.session.timeout.ms: a consumer property");
    refused("kafka:\n  bootstrap_servers: 'h:1'\n  consumer:\n    linger.ms: '5'\n",
            "kafka.consumer.linger.ms: a producer property: put it under kafka.producer:");
    refused("kafka:\n  bootstrap_servers: 'h:1'\n  consumer:\n    group.id: x\n",
            "kafka.consumer.group.id: set by cometgate");
    refused("kafka:\n  bootstrap_servers: 'h:1'\n  bootstrap.servers: 'h:2'\n",
            "t.yaml:3: kafka.bootstrap.servers: unknown key (a librdkafka property goes under "
            "kafka.client:, kafka.consumer: or kafka.producer:)");
}

/* Every problem of every section in one run, in file order within a section. */
static void test_all_in_one_run(void)
{
    cg_connectors_config_t *cc;
    CHECK(load("kafka:\n  bootstrap_servers: ''\n  start: soon\n  consumer: [a]\n"
               "mqtt:\n  uri: 'tcp://h:1'\n  qos: 2\n  version: 4\n"
               "routes:\n  - {kafka: t, channel: /a, format: xml, colour: red}\n"
               "  - {publish: '/p/*', to_kafka: t, format: json}\n",
               &cc) == 8);
    CHECK(strstr(reported, "t.yaml:2: kafka.bootstrap_servers: must not be empty"));
    CHECK(strstr(reported, "t.yaml:3: kafka.start: 'soon' is not one of latest, earliest, "
                           "committed"));
    CHECK(strstr(reported, "t.yaml:4: kafka.consumer: expected a mapping"));
    CHECK(strstr(reported, "t.yaml:7: mqtt.qos: '2' is not one of 0, 1"));
    CHECK(strstr(reported, "t.yaml:8: mqtt.version: '4' is not one of 3.1.1, 5, 5.0"));
    CHECK(strstr(reported, "t.yaml:10: routes[0].format: 'xml' is not one of json, msgpack"));
    CHECK(strstr(reported, "t.yaml:10: routes[0].colour: unknown key"));
    CHECK(strstr(reported, "t.yaml:11: routes[1].format: not allowed in an outbound route"));
}

int main(void)
{
    RUN(test_units);
    RUN(test_template_mistakes);
    RUN(test_kafka_maps);
    RUN(test_all_in_one_run);
    TEST_MAIN_END();
}
