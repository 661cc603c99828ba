/* Kafka ingest benchmark: how many messages per second one Kafka connector thread hands to the
 * loop.
 *
 * In one process: librdkafka's mock cluster (1 broker), N messages of ~200-byte JSON produced to a
 * topic beforehand, then the real connector (connectors/kafka.c, route + normalise) consuming from
 * the beginning through the ingest path (connectors/ingest.c) into a real handoff, drained by a
 * thread standing in for the lws loop.
 * Usage: cg-ingest-bench [MESSAGES] [PARTITIONS]      Prints msgs/s. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/log.h"
#include "connector.h"

static atomic_long received;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool woken, done;

static void wake(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    woken = true;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
}

static void on_publish(void *arg, const char *channel, const char *data, size_t len)
{
    (void)arg, (void)channel, (void)data, (void)len;
    atomic_fetch_add(&received, 1);
}

static void *loop(void *arg)
{
    cg_handoff_t *handoff = arg;
    cg_handoff_handler_t h = {.publish = on_publish};
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!woken && !done)
            pthread_cond_wait(&cond, &lock);
        woken = false;
        bool d = done;
        pthread_mutex_unlock(&lock);
        cg_handoff_drain(handoff, &h);
        if (d)
            return NULL;
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 500000;
    int parts = argc > 2 ? atoi(argv[2]) : 4;
    char err[512];
    cg_log_set_level(CG_LOG_WARN);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err));
    rd_kafka_conf_set(conf, "batch.num.messages", "10000", err, sizeof(err));
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof(err));
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(prod, 1);
    rd_kafka_mock_topic_create(mc, "bench", parts, 1);
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    rd_kafka_conf_set(pc, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(pc, "linger.ms", "20", err, sizeof(err));
    rd_kafka_conf_set(pc, "queue.buffering.max.messages", "1000000", err, sizeof(err));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
    char payload[256], key[32];
    for (long i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "SYM%ld", i % 500);
        int pl = snprintf(payload, sizeof(payload),
                          "{\"symbol\":\"%s\",\"seq\":%ld,\"last\":189.53,\"bid\":189.52,"
                          "\"ask\":189.54,\"volume\":1234567,\"exchange\":\"XNAS\",\"currency\":"
                          "\"USD\",\"ts\":1718000000000,\"flags\":[\"regular\",\"open\"],"
                          "\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}",
                          key, i);
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("bench"), RD_KAFKA_V_KEY(key, (size_t)kl),
                                 RD_KAFKA_V_VALUE(payload, (size_t)pl),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
            rd_kafka_poll(p, 10);
        if (i == 0)
            fprintf(stderr, "payload: %d bytes\n", pl);
    }
    rd_kafka_flush(p, 60000);
    /* The mock cluster keeps only the newest ~5 MB of each partition (about 20,000 of these
     * messages) and deletes older log segments: count what it kept, which is what the consumer
     * can read from the start, or the run would wait for messages that no longer exist. */
    long kept = 0;
    for (int i = 0; i < parts; i++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(p, "bench", i, &lo, &hi, 10000) == 0)
            kept += (long)(hi - lo);
    }
    rd_kafka_destroy(p);
    fprintf(stderr, "produced %ld messages to %d partitions; the cluster kept %ld\n", n, parts,
            kept);
    n = kept;

    static cg_config_t cfg;
    cg_config_defaults(&cfg);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "kafka:\n  bootstrap_servers: '%s'\n  group_id: bench\n  start: earliest\n  consumer: "
             "{fetch.wait.max.ms: '%s'}\n"
             "routes:\n  - {name: bench, kafka: bench, channel: '/bench/{key}'}\n",
             bootstrap, getenv("FETCH_WAIT_MS") ? getenv("FETCH_WAIT_MS") : "10");
    if (cg_config_load_text(&cfg, "bench", yaml, strlen(yaml), NULL, NULL))
        return 1;
    cg_connectors_config_t *cc = NULL;
    if (cg_connectors_config_load(&cfg, &cc, NULL, NULL))
        return 1;
    cg_handoff_limits_t bl = {65536, 64 << 20};
    cg_handoff_t *handoff = cg_handoff_create(&bl);
    cg_handoff_set_waker(handoff, wake, NULL);
    pthread_t lt;
    pthread_create(&lt, NULL, loop, handoff);
    static cg_connector_counters_t counters;
    cg_route_counters_t *route_counters = calloc(cc->nroutes, sizeof(*route_counters));
    cg_connector_env_t env = {
        .cc = cc, .handoff = handoff, .counters = &counters, .routes = route_counters};
    uint64_t t0 = cg_now_ms();
    void *k = cg_kafka_connector.start(&env);
    if (!k)
        return 1;
    uint64_t first = 0;
    while (atomic_load(&received) < n) {
        usleep(1000);
        if (!first && atomic_load(&received) > 0)
            first = cg_now_ms();
        if (cg_now_ms() - t0 > 120000)
            break;
    }
    uint64_t t1 = cg_now_ms();
    long got = atomic_load(&received);
    double secs = (double)(t1 - first) / 1000.0;
    printf("ingest: %ld messages in %.2f s (from the first message) = %.0f msgs/s; "
           "start-up %llu ms\n",
           got, secs, secs > 0 ? (double)got / secs : 0.0, (unsigned long long)(first - t0));
    cg_handoff_close(handoff);
    cg_kafka_connector.stop(k);
    pthread_mutex_lock(&lock);
    done = true;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(lt, NULL);
    cg_handoff_destroy(handoff);
    free(route_counters);
    cg_connectors_config_free(cc);
    cg_config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(prod);
    return got == n ? 0 : 1;
}
