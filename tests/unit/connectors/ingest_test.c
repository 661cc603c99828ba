/* Unit tests: the shared inbound path (connectors/ingest.c) with the real route, normalise and
 * handoff objects: route match per bus, counters per route and per connector (not in the
 * configuration), the wait on a full handoff and the stop while waiting. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_test.h"
#include "connectors_config.h"
#include "ingest.h"
#include "log.h"

static cg_connectors_config_t *load(const char *text)
{
    static cg_config_t cfg;
    cg_connectors_config_t *cc = NULL;
    cg_config_defaults(&cfg);
    if (!cg_config_load_text(&cfg, "t.yaml", text, strlen(text), NULL, NULL))
        cg_connectors_config_load(&cfg, &cc, NULL, NULL);
    cg_config_free(&cfg);
    return cc;
}

static const char routes_yaml[] =
    "kafka: {bootstrap_servers: 'h:1'}\nmqtt: {uri: 'tcp://h:1'}\nroutes:\n"
    "  - {name: k1, kafka: prices, channel: '/p/{key}'}\n"
    "  - {name: k2, kafka_regex: 'pri.*', channel: '/all/{key}', max_size: 10}\n"
    "  - {name: m1, mqtt: 'sensors/+/temp', channel: '/t/{2}'}\n"
    "  - {name: m2, mqtt: 'sensors/#', channel: '/s/{field.id}'}\n"
    "  - {name: out, publish: '/chat/*', to_kafka: chat}\n";

typedef struct got {
    char channels[16][64];
    size_t n;
} got_t;

static void on_publish(void *arg, const char *channel, const char *data, size_t len)
{
    got_t *g = arg;
    (void)data, (void)len;
    if (g->n < 16)
        snprintf(g->channels[g->n++], sizeof(g->channels[0]), "%s", channel);
}

static size_t drain(cg_handoff_t *h, got_t *g)
{
    cg_handoff_handler_t hh = {.publish = on_publish, .arg = g};
    return cg_handoff_drain(h, &hh);
}

/* Drains the handoff: the channels published, in order, are `want`. */
static void expect_channels(cg_handoff_t *h, const char *const *want, size_t n)
{
    got_t g = {0};
    CHECK(drain(h, &g) == n);
    for (size_t i = 0; i < n && i < g.n; i++)
        CHECK_STR(g.channels[i], want[i]);
}

/* What one route's counters should say. */
typedef struct want {
    unsigned long long delivered, bad_payload, missing_field, oversize;
} want_t;

static void expect_route(const cg_route_counters_t *n, want_t w)
{
    CHECK(atomic_load(&n->delivered) == w.delivered);
    CHECK(atomic_load(&n->bad_payload) == w.bad_payload);
    CHECK(atomic_load(&n->missing_field) == w.missing_field);
    CHECK(atomic_load(&n->oversize) == w.oversize);
    CHECK(atomic_load(&n->failed) == 0);
}

typedef struct fixture {
    cg_connectors_config_t *cc;
    cg_handoff_t *handoff;
    cg_connector_counters_t counters;
    cg_route_counters_t *routes;
    atomic_bool stop;
    int fulls;
    cg_ingest_t *in;
    cg_ingest_routes_t prices; /* the routes that take topic "prices" on this bus */
} fixture_t;

static void on_full(void *arg)
{
    ((fixture_t *)arg)->fulls++;
}

static bool setup(fixture_t *f, cg_bus_kind_t bus, size_t max_messages)
{
    memset(f, 0, sizeof(*f));
    f->cc = load(routes_yaml);
    CHECK(f->cc != NULL);
    if (!f->cc)
        return false;
    cg_handoff_limits_t lim = {max_messages, 1 << 20};
    f->handoff = cg_handoff_create(&lim);
    f->routes = calloc(f->cc->nroutes, sizeof(*f->routes));
    atomic_init(&f->stop, false);
    cg_ingest_config_t c = {.bus = bus,
                            .log_tag = "test",
                            .cc = f->cc,
                            .handoff = f->handoff,
                            .counters = &f->counters,
                            .routes = f->routes,
                            .stop = &f->stop,
                            .on_full = on_full,
                            .arg = f};
    f->in = cg_ingest_create(&c);
    cg_ingest_match(f->in, "prices", &f->prices);
    return true;
}

static void teardown(fixture_t *f)
{
    cg_ingest_routes_free(&f->prices);
    cg_ingest_destroy(f->in);
    cg_handoff_destroy(f->handoff);
    free(f->routes);
    cg_connectors_config_free(f->cc);
}

/* Runs fn(f) on another thread 100 ms from now, while the test's thread waits in a push. */
typedef struct later {
    void (*fn)(fixture_t *f);
    fixture_t *f;
    pthread_t thread;
} later_t;

static void *later_main(void *arg)
{
    later_t *l = arg;
    usleep(100 * 1000);
    l->fn(l->f);
    return NULL;
}

static void later(later_t *l, void (*fn)(fixture_t *f), fixture_t *f)
{
    l->fn = fn;
    l->f = f;
    pthread_create(&l->thread, NULL, later_main, l);
}

static cg_inbound_msg_t kafka_msg(const char *topic, const char *key, const char *payload)
{
    return (cg_inbound_msg_t){.bus = CG_BUS_KAFKA,
                              .topic = topic,
                              .payload = payload,
                              .len = strlen(payload),
                              .key = key,
                              .key_len = strlen(key),
                              .has_key = true,
                              .partition = 3,
                              .offset = 9,
                              .timestamp_ms = 1};
}

/* Kafka: the routes are matched once per topic (as per partition in kafka.c), then used as
 * they are; a route that cannot take the message is skipped and counted, the others deliver. */
static void test_kafka_routes_and_counters(void)
{
    fixture_t f;
    if (!setup(&f, CG_BUS_KAFKA, 100))
        return;
    CHECK(f.prices.n == 2 && f.prices.idx[0] == 0 && f.prices.idx[1] == 1);
    cg_ingest_routes_t none;
    cg_ingest_match(f.in, "sensors/a/temp", &none); /* an MQTT topic: no Kafka route takes it */
    CHECK(none.n == 0);
    cg_ingest_routes_free(&none);
    CHECK(cg_ingest_route_count(f.in) == 2);

    const char *msgs[][2] = {{"AAPL", "{\"x\":1}"},
                             {"MSFT", "{\"x\":1,\"y\":2}"}, /* over k2's max_size */
                             {"GOOG", "{bad"}};
    for (size_t i = 0; i < 3; i++) {
        cg_inbound_msg_t m = kafka_msg("prices", msgs[i][0], msgs[i][1]);
        CHECK(cg_ingest_message(f.in, &m, &f.prices) == CG_INGEST_OK);
    }
    expect_channels(f.handoff, (const char *[]){"/p/AAPL", "/all/AAPL", "/p/MSFT"}, 3);
    expect_route(&f.routes[0], (want_t){.delivered = 2, .bad_payload = 1});
    expect_route(&f.routes[1], (want_t){.delivered = 1, .bad_payload = 1, .oversize = 1});
    for (size_t i = 2; i < f.cc->nroutes; i++) /* the MQTT and outbound routes: untouched */
        expect_route(&f.routes[i], (want_t){0});
    CHECK(atomic_load(&f.counters.messages) == 3);
    CHECK(atomic_load(&f.counters.skipped) == 3);
    CHECK(atomic_load(&f.counters.waits) == 0 && f.fulls == 0);
    teardown(&f);
}

/* MQTT: matched per message against every MQTT route (no routes given). */
static void test_mqtt_match_per_message(void)
{
    fixture_t f;
    if (!setup(&f, CG_BUS_MQTT, 100))
        return;
    CHECK(f.prices.n == 0 && cg_ingest_route_count(f.in) == 2);
    const struct {
        const char *topic, *payload;
    } msgs[] = {{"sensors/d7/temp", "{\"id\":\"d7\"}"},
                {"sensors/d7/humidity", "{\"id\":\"d7\"}"},
                {"sensors/d7/humidity", "{\"v\":20}"}, /* no id: m2's channel has no value */
                {"prices", "{\"id\":\"d7\"}"}};        /* a Kafka topic name: no MQTT route */
    for (size_t i = 0; i < 4; i++) {
        cg_inbound_msg_t m = {.bus = CG_BUS_MQTT,
                              .topic = msgs[i].topic,
                              .payload = msgs[i].payload,
                              .len = strlen(msgs[i].payload),
                              .qos = 1,
                              .timestamp_ms = 1};
        CHECK(cg_ingest_message(f.in, &m, NULL) == CG_INGEST_OK);
    }
    expect_channels(f.handoff, (const char *[]){"/t/d7", "/s/d7", "/s/d7"}, 3);
    expect_route(&f.routes[0], (want_t){0});
    expect_route(&f.routes[2], (want_t){.delivered = 1});
    expect_route(&f.routes[3], (want_t){.delivered = 2, .missing_field = 1});
    CHECK(atomic_load(&f.counters.messages) == 4);
    CHECK(atomic_load(&f.counters.skipped) == 1);
    teardown(&f);
}

static void drain_one(fixture_t *f)
{
    got_t g = {0};
    CHECK(drain(f->handoff, &g) == 1);
}

/* A full handoff: the push waits (on_full once, counted once) until the loop drains. */
static void test_full_handoff_waits(void)
{
    fixture_t f;
    if (!setup(&f, CG_BUS_KAFKA, 1))
        return;
    f.prices.n = 1; /* k1 only */
    cg_inbound_msg_t m = kafka_msg("prices", "A", "{}");
    CHECK(cg_ingest_message(f.in, &m, &f.prices) == CG_INGEST_OK);
    later_t l;
    later(&l, drain_one, &f);
    m = kafka_msg("prices", "B", "{}");
    CHECK(cg_ingest_message(f.in, &m, &f.prices) == CG_INGEST_OK); /* waits for drain_one */
    pthread_join(l.thread, NULL);
    CHECK(f.fulls == 1);
    CHECK(atomic_load(&f.counters.waits) == 1);
    expect_route(&f.routes[0], (want_t){.delivered = 2});
    expect_channels(f.handoff, (const char *[]){"/p/B"}, 1);
    teardown(&f);
}

static void stop(fixture_t *f)
{
    atomic_store(&f->stop, true);
}

/* Stopping while a push waits: CG_INGEST_ESTOPPED and nothing more counted as delivered; a
 * closed handoff answers at once. */
static void test_stop_while_full(void)
{
    fixture_t f;
    if (!setup(&f, CG_BUS_KAFKA, 1))
        return;
    cg_inbound_msg_t m = kafka_msg("prices", "A", "{}");
    later_t l;
    later(&l, stop, &f);
    CHECK(cg_ingest_message(f.in, &m, &f.prices) == CG_INGEST_ESTOPPED); /* k1 in, k2 waits */
    pthread_join(l.thread, NULL);
    expect_route(&f.routes[0], (want_t){.delivered = 1});
    expect_route(&f.routes[1], (want_t){0});
    atomic_store(&f.stop, false);
    cg_handoff_close(f.handoff);
    CHECK(cg_ingest_message(f.in, &m, &f.prices) == CG_INGEST_ESTOPPED);
    teardown(&f);
}

int main(void)
{
    cg_log_set_level(CG_LOG_ERR);
    RUN(test_kafka_routes_and_counters);
    RUN(test_mqtt_match_per_message);
    RUN(test_full_handoff_waits);
    RUN(test_stop_while_full);
    TEST_MAIN_END();
}
