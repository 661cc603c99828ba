/* cg-kafka-mock: Kafka for tests, from librdkafka's mock cluster, plus a producer and a consumer.
 *
 *   cg-kafka-mock serve [--brokers N] [--topic NAME:PARTITIONS]...
 *       Starts an N-broker mock cluster on loopback (random ports), creates the topics (replication
 *       min(3, N)), prints "BOOTSTRAP host:port,..." and then serves commands read from stdin, one
 *       per line, answering "OK ..." or "ERR ...":
 *         create TOPIC PARTITIONS     down BROKER_ID     up BROKER_ID
 *         leader TOPIC PARTITION BROKER_ID    quit
 *       Exits on "quit", end of stdin, SIGTERM or SIGINT.
 *
 *   cg-kafka-mock produce -b BOOTSTRAP [-X prop=value]...
 *       Reads JSON lines {"topic":..,"key":..,"value":..|"value_hex":..,"partition":n} from stdin
 *       and produces each (value: a JSON string is sent as its text, any other JSON value as its
 *       encoding). Messages queue while brokers are down. At end of input waits for every
 *       delivery report and prints "DELIVERED n FAILED m" (exit 1 when m > 0).
 *
 *   cg-kafka-mock consume -b BOOTSTRAP -t TOPIC [-c COUNT] [-w TIMEOUT_MS]
 *       Reads TOPIC from the beginning (every partition, no group) and prints one JSON line per
 *       message {"partition","offset","key","value"} until COUNT messages or TIMEOUT_MS of quiet.
 */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: cg-kafka-mock serve [--brokers N] [--topic NAME:PARTITIONS]...\n"
                    "       cg-kafka-mock produce -b BOOTSTRAP [-X prop=value]...\n"
                    "       cg-kafka-mock consume -b BOOTSTRAP -t TOPIC [-c COUNT] [-w MS]\n");
    exit(2);
}

static int create_topic(rd_kafka_mock_cluster_t *mc, int brokers, const char *spec)
{
    char name[256];
    int parts = 1;
    const char *colon = strrchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof(name))
        return -1;
    memcpy(name, spec, n);
    name[n] = '\0';
    if (colon)
        parts = atoi(colon + 1);
    if (parts < 1)
        return -1;
    return rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3) ? -1 : 0;
}

static int serve(int argc, char **argv)
{
    int brokers = 3;
    const char *topics[64];
    int ntopics = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc)
            brokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topic") && i + 1 < argc && ntopics < 64)
            topics[ntopics++] = argv[++i];
        else
            usage();
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "cg-kafka-mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "cg-kafka-mock: cannot create the mock cluster\n");
        return 1;
    }
    for (int i = 0; i < ntopics; i++)
        if (create_topic(mc, brokers, topics[i])) {
            fprintf(stderr, "cg-kafka-mock: bad topic '%s'\n", topics[i]);
            return 1;
        }
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[512];
    while (!stop && fgets(line, sizeof(line), stdin)) {
        char cmd[32] = "", a[256] = "";
        int x = 0, y = 0;
        int n = sscanf(line, "%31s %255s %d %d", cmd, a, &x, &y);
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (n < 1)
            continue;
        if (!strcmp(cmd, "quit"))
            break;
        if (!strcmp(cmd, "create") && n >= 3)
            e = rd_kafka_mock_topic_create(mc, a, x, brokers < 3 ? brokers : 3);
        else if (!strcmp(cmd, "down") && n >= 2)
            e = rd_kafka_mock_broker_set_down(mc, atoi(a));
        else if (!strcmp(cmd, "up") && n >= 2)
            e = rd_kafka_mock_broker_set_up(mc, atoi(a));
        else if (!strcmp(cmd, "leader") && n >= 4)
            e = rd_kafka_mock_partition_set_leader(mc, a, x, y);
        else {
            printf("ERR unknown command: %s", line);
            fflush(stdout);
            continue;
        }
        if (e)
            printf("ERR %s\n", rd_kafka_err2str(e));
        else
            printf("OK %s", line);
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

static long delivered, failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err) {
        failed++;
        fprintf(stderr, "cg-kafka-mock: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
    }
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int produce(int argc, char **argv)
{
    const char *bootstrap = NULL;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-b") && i + 1 < argc) {
            bootstrap = argv[++i];
        } else if (!strcmp(argv[i], "-X") && i + 1 < argc) {
            char *kv = strdup(argv[++i]);
            char *eq = strchr(kv, '=');
            if (!eq)
                usage();
            *eq = '\0';
            if (rd_kafka_conf_set(conf, kv, eq + 1, err, sizeof(err))) {
                fprintf(stderr, "cg-kafka-mock: %s\n", err);
                return 2;
            }
            free(kv);
        } else {
            usage();
        }
    }
    if (!bootstrap)
        usage();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    /* Ordered and exactly once per partition across broker outages. */
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(conf, "message.timeout.ms", "120000", err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "cg-kafka-mock: %s\n", err);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (!stop && (n = getline(&line, &cap, stdin)) > 0) {
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)n, 0, &je);
        if (!j || !json_is_object(j)) {
            fprintf(stderr, "cg-kafka-mock: bad line: %s", line);
            json_decref(j);
            continue;
        }
        const char *topic = json_string_value(json_object_get(j, "topic"));
        const json_t *key = json_object_get(j, "key");
        const json_t *value = json_object_get(j, "value");
        const char *hex = json_string_value(json_object_get(j, "value_hex"));
        const json_t *part = json_object_get(j, "partition");
        char *vbuf = NULL;
        size_t vlen = 0;
        if (hex) {
            vlen = strlen(hex) / 2;
            vbuf = malloc(vlen + 1);
            for (size_t i = 0; i < vlen; i++)
                vbuf[i] = (char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        } else if (json_is_string(value)) {
            vbuf = strdup(json_string_value(value));
            vlen = json_string_length(value);
        } else if (value) {
            vbuf = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
            vlen = strlen(vbuf);
        }
        const char *k = json_string_value(key);
        rd_kafka_resp_err_t e;
        do {
            e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic ? topic : "test"),
                                  RD_KAFKA_V_PARTITION((part ? (int32_t)json_integer_value(part)
                                                             : RD_KAFKA_PARTITION_UA)),
                                  RD_KAFKA_V_KEY(k, k ? strlen(k) : 0),
                                  RD_KAFKA_V_VALUE(vbuf, vlen),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 50);
        } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !stop);
        if (e) {
            failed++;
            fprintf(stderr, "cg-kafka-mock: produce: %s\n", rd_kafka_err2str(e));
        }
        free(vbuf);
        json_decref(j);
        rd_kafka_poll(rk, 0);
    }
    free(line);
    while (rd_kafka_outq_len(rk) > 0 && !stop)
        rd_kafka_poll(rk, 100);
    rd_kafka_flush(rk, 1000);
    printf("DELIVERED %ld FAILED %ld\n", delivered, failed);
    fflush(stdout);
    rd_kafka_destroy(rk);
    return failed ? 1 : 0;
}

static int consume(int argc, char **argv)
{
    const char *bootstrap = NULL, *topic = NULL;
    long count = -1, wait_ms = 3000;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-b") && i + 1 < argc)
            bootstrap = argv[++i];
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            topic = argv[++i];
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "-w") && i + 1 < argc)
            wait_ms = atol(argv[++i]);
        else
            usage();
    }
    if (!bootstrap || !topic)
        usage();
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "cg-kafka-mock-consume", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "cg-kafka-mock: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "cg-kafka-mock: no metadata for %s\n", topic);
        return 1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int p = 0; p < md->topics[0].partition_cnt; p++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[p].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    long got = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long quiet_since = 0;
    while (!stop && (count < 0 || got < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (!m || m->err) {
            if (m)
                rd_kafka_message_destroy(m);
            if (ms - quiet_since > wait_ms)
                break;
            continue;
        }
        quiet_since = ms;
        json_t *o = json_pack("{s:i,s:I,s:o,s:s%}", "partition", (int)m->partition, "offset",
                              (json_int_t)m->offset, "key",
                              m->key ? json_stringn(m->key, m->key_len) : json_null(), "value",
                              m->payload ? (const char *)m->payload : "", m->len);
        if (o) {
            char *s = json_dumps(o, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
            json_decref(o);
        }
        fflush(stdout);
        got++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read must return */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        usage();
    if (!strcmp(argv[1], "serve"))
        return serve(argc - 2, argv + 2);
    if (!strcmp(argv[1], "produce"))
        return produce(argc - 2, argv + 2);
    if (!strcmp(argv[1], "consume"))
        return consume(argc - 2, argv + 2);
    usage();
}
