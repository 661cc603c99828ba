#include "../cg_test.h"
#include "config.h"

static char reported[4096];
static void report(void *arg, const char *line)
{
    (void)arg;
    strncat(reported, line, sizeof(reported) - strlen(reported) - 2);
    strcat(reported, "\n");
}

static int load(cg_config_t *c, const char *text)
{
    reported[0] = '\0';
    cg_config_defaults(c);
    return cg_config_load_text(c, "t.yaml", text, strlen(text), report, NULL);
}

static void test_defaults(void)
{
    cg_config_t c;
    cg_config_defaults(&c);
    CHECK_STR(c.listen_host, "127.0.0.1");
    CHECK(c.listen_port == 8080);
    CHECK_STR(c.bayeux.path, "/cometd");
    CHECK(c.limits.max_body == 1048576);
    CHECK(c.demo.enabled);
}

static void test_load(void)
{
    cg_config_t c;
    CHECK(load(&c, "listen: \"0.0.0.0:9000\"\nbayeux:\n  timeout_ms: 5000\nlimits:\n"
                   "  max_body: 64k\ndemo:\n  enabled: false\n") == 0);
    CHECK_STR(c.listen_host, "0.0.0.0");
    CHECK(c.listen_port == 9000);
    CHECK(c.bayeux.timeout_ms == 5000);
    CHECK(c.limits.max_body == 65536);
    CHECK(!c.demo.enabled);
    cg_config_free(&c);
}

static void test_errors(void)
{
    cg_config_t c;
    CHECK(load(&c, "bayeux:\n  timeout_ms: abc\n  nope: 1\nlimits:\n  max_body: -5\n"
                   "colour: red\n") == 4);
    CHECK(strstr(reported, "t.yaml:2: bayeux.timeout_ms: 'abc' is not a duration") != NULL);
    CHECK(strstr(reported, "t.yaml:3: bayeux.nope: unknown key") != NULL);
    CHECK(strstr(reported, "t.yaml:5: limits.max_body: -5 is out of range") != NULL);
    CHECK(strstr(reported, "t.yaml:6: colour: unknown key") != NULL);
    cg_config_free(&c);

    CHECK(load(&c, "bayeux: [1, 2]\n") == 1);
    CHECK(strstr(reported, "bayeux: expected a mapping") != NULL);
    cg_config_free(&c);

    CHECK(load(&c, "a: [\n") == 1); /* YAML syntax */
    CHECK(strstr(reported, "t.yaml:") != NULL);
    cg_config_free(&c);

    CHECK(load(&c, "demo:\n  enabled: maybe\n") == 1);
    cg_config_free(&c);
    CHECK(load(&c, "listen: nowhere\n") == 1);
    cg_config_free(&c);
    CHECK(load(&c, "a: 1\na: 2\n") == 1); /* duplicate key */
    cg_config_free(&c);
    CHECK(load(&c, "log_level: loud\n") == 1);
    cg_config_free(&c);
}

/* Sizes take k/m/g and durations ms/s/m/h wherever a size or a duration is; counts are plain. */
static void test_units(void)
{
    cg_config_t c;
    CHECK(load(&c, "stats_interval_ms: 2s\nbayeux:\n  timeout_ms: 1m\n  interval_ms: 250ms\n"
                   "  max_interval_ms: \"1h\"\n  ws_ping_s: 2m\nlimits:\n  max_ws_message: 2m\n"
                   "  queue_bytes: 1g\n  body_timeout_ms: 10s\n  body_min_rate: 1k\n"
                   "handoff:\n  max_bytes: 64M\n") == 0);
    CHECK(c.stats_interval_ms == 2000);
    CHECK(c.bayeux.timeout_ms == 60000);
    CHECK(c.bayeux.interval_ms == 250);
    CHECK(c.bayeux.max_interval_ms == 3600000);
    CHECK(c.bayeux.ws_ping_s == 120);
    CHECK(c.limits.max_ws_message == 2 * 1024 * 1024);
    CHECK(c.limits.queue_bytes == 1073741824);
    CHECK(c.limits.body_timeout_ms == 10000);
    CHECK(c.limits.body_min_rate == 1024);
    CHECK(c.handoff.max_bytes == 64 * 1024 * 1024);
    cg_config_free(&c);

    CHECK(load(&c, "bayeux:\n  ws_ping_s: 1500ms\n  timeout_ms: 5k\nlimits:\n  max_body: 10s\n"
                   "  max_sessions: 10k\n  queue_bytes: \"4096\"\n") == 5);
    CHECK(strstr(reported, "t.yaml:2: bayeux.ws_ping_s: '1500ms' is not a duration (seconds") !=
          NULL);
    CHECK(strstr(reported, "t.yaml:3: bayeux.timeout_ms: '5k' is not a duration") != NULL);
    CHECK(strstr(reported, "t.yaml:5: limits.max_body: '10s' is not a size") != NULL);
    CHECK(strstr(reported, "t.yaml:6: limits.max_sessions: '10k' is not an integer") != NULL);
    CHECK(strstr(reported, "t.yaml:7: limits.queue_bytes: '4096' is not a size") != NULL);
    cg_config_free(&c);

    CHECK(load(&c, "bayeux:\n  timeout_ms: 11m\n") == 1); /* 660000 ms > 600000 */
    CHECK(strstr(reported, "bayeux.timeout_ms: 660000 is out of range [0, 600000] ms") != NULL);
    cg_config_free(&c);
}

/* The old group name still loads; a top-level librdkafka property gets a hint where it goes. */
static void test_names(void)
{
    cg_config_t c;
    CHECK(load(&c, "bus:\n  max_messages: 7\n") == 0);
    CHECK(c.handoff.max_messages == 7);
    cg_config_free(&c);
    CHECK(load(&c, "bootstrap.servers: \"h:9092\"\n") == 1);
    CHECK(strstr(reported, "t.yaml:1: bootstrap.servers: unknown key (a librdkafka property goes "
                           "under kafka.client:, kafka.consumer: or kafka.producer:)") != NULL);
    cg_config_free(&c);
    CHECK(load(&c, "event_loop: select\nbayeux:\n  path: cometd\n") == 2);
    CHECK(strstr(reported, "t.yaml:1: event_loop: 'select' is not one of epoll, poll") != NULL);
    CHECK(strstr(reported, "t.yaml:3: bayeux.path: 'cometd' must start with /") != NULL);
    cg_config_free(&c);
}

static void test_listen(void)
{
    cg_config_t c;
    cg_config_defaults(&c);
    CHECK(cg_config_set_listen(&c, "[::1]:81") == 0);
    CHECK_STR(c.listen_host, "::1");
    CHECK(c.listen_port == 81);
    CHECK(cg_config_set_listen(&c, "host:99999") == -1);
    CHECK(cg_config_set_listen(&c, ":80") == -1);
    CHECK(cg_config_set_listen(&c, "host:") == -1);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_load);
    RUN(test_errors);
    RUN(test_units);
    RUN(test_names);
    RUN(test_listen);
    TEST_MAIN_END();
}
