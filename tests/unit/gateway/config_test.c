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
    CHECK(strstr(reported, "t.yaml:2: bayeux.timeout_ms: 'abc' is not an integer") != NULL);
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
    RUN(test_listen);
    TEST_MAIN_END();
}
