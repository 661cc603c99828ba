/* Unit tests: templates, MQTT filters, normalisation, connector config parsing, and the agreement
 * between every settings table (gateway/config.c's core table, connectors_config.c's kafka, mqtt
 * and route tables) and schemas/config.schema.json. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cg_test.h"
#include "connectors_config.h"
#include "load_config.h"
#include "normalise.h"
#include "route.h"

static void test_templates(void)
{
    cg_template_t t;
    char err[200];
    CHECK(!cg_template_compile(&t, "/p/{key}/{field.a.b}/{{x}}", CG_TPL_KEY | CG_TPL_FIELD, err,
                               sizeof(err)));
    json_t *f = json_pack("{s:{s:i}}", "a", "b", 42);
    cg_tpl_ctx_t ctx = {.key = "k/1", .key_len = 3, .has_key = true, .fields = f};
    cg_buf_t out;
    cg_buf_init(&out, 0);
    CHECK(!cg_template_expand(&t, &ctx, true, &out, err, sizeof(err)));
    CHECK(out.len == strlen("/p/k%2F1/42/{x}") &&
          !memcmp(cg_buf_data(&out), "/p/k%2F1/42/{x}", out.len));
    cg_buf_reset(&out);
    ctx.has_key = false;
    CHECK(cg_template_expand(&t, &ctx, true, &out, err, sizeof(err)) == CG_TPL_EMISSING);
    cg_template_free(&t);
    json_decref(f);
    CHECK(cg_template_compile(&t, "/a/{1}", CG_TPL_KEY, err, sizeof(err)) == -1);
    CHECK(strstr(err, "cannot be used here"));
    CHECK(cg_template_compile(&t, "/a/{key", CG_TPL_KEY, err, sizeof(err)) == -1);
    CHECK(cg_template_compile(&t, "/a/}", CG_TPL_KEY, err, sizeof(err)) == -1);
    CHECK(cg_template_compile(&t, "/a/{field..x}", CG_TPL_FIELD, err, sizeof(err)) == -1);
    cg_buf_free(&out);
}

static void test_mqtt_filters(void)
{
    CHECK(cg_mqtt_filter_valid("a/+/c") && cg_mqtt_filter_valid("#") &&
          cg_mqtt_filter_valid("a/#"));
    CHECK(!cg_mqtt_filter_valid("a/#/c") && !cg_mqtt_filter_valid("a+") &&
          !cg_mqtt_filter_valid(""));
    CHECK(cg_mqtt_filter_matches("a/+/c", "a/b/c"));
    CHECK(!cg_mqtt_filter_matches("a/+/c", "a/b/d"));
    CHECK(cg_mqtt_filter_matches("a/#", "a/b/c") && cg_mqtt_filter_matches("a/#", "a"));
    CHECK(!cg_mqtt_filter_matches("#", "$SYS/x"));
    CHECK(cg_mqtt_filter_matches("+/+", "a/b") && !cg_mqtt_filter_matches("+", "a/b"));
    CHECK(cg_mqtt_filter_matches("a/+", "a/") && !cg_mqtt_filter_matches("a/b", "a/bc"));
}

static int load(const char *text, cg_connectors_config_t **out)
{
    return cg_test_load_config(text, out, NULL);
}

static void test_normalise(void)
{
    cg_connectors_config_t *cc = NULL;
    CHECK(!load("mqtt: {uri: 'tcp://h:1'}\nkafka: {bootstrap_servers: 'h:1'}\nroutes:\n"
                "  - {name: j, kafka: t, channel: '/j/{key}', fields: {p: a.b, q: c}}\n"
                "  - {name: m, mqtt: 'x/+', format: msgpack, channel: '/m/{2}'}\n"
                "  - {name: s, kafka: t, format: text, channel: '/s', max_size: 4}\n",
                &cc));
    if (!cc)
        return;
    cg_buf_t ch, data;
    cg_buf_init(&ch, 0);
    cg_buf_init(&data, 0);
    char err[200];
    const char *payload = "{\"a\":{\"b\":1},\"c\":\"x\",\"d\":2}";
    cg_inbound_msg_t m = {.bus = CG_BUS_KAFKA,
                          .topic = "t",
                          .payload = payload,
                          .len = strlen(payload),
                          .key = "K",
                          .key_len = 1,
                          .has_key = true,
                          .partition = 2,
                          .offset = 7,
                          .timestamp_ms = 5};
    CHECK(cg_normalise(cc->routes[0], &m, &ch, &data, err, sizeof(err)) == CG_NORM_OK);
    CHECK(!strcmp(cg_buf_data(&ch), "/j/K"));
    json_t *j = json_loadb(cg_buf_data(&data), data.len, 0, NULL);
    CHECK(j && !strcmp(json_string_value(json_object_get(j, "item")), "K"));
    CHECK(json_integer_value(json_object_get(json_object_get(j, "fields"), "p")) == 1);
    CHECK(json_object_size(json_object_get(j, "fields")) == 2);
    CHECK(json_integer_value(json_object_get(json_object_get(j, "source"), "offset")) == 7);
    json_decref(j);
    m.payload = "{bad";
    m.len = 4;
    CHECK(cg_normalise(cc->routes[0], &m, &ch, &data, err, sizeof(err)) == CG_NORM_EPAYLOAD);
    m.payload = "hello";
    m.len = 5;
    CHECK(cg_normalise(cc->routes[2], &m, &ch, &data, err, sizeof(err)) == CG_NORM_ESIZE);
    /* msgpack {"v": [1, -2, 1.5, true, nil, bin(2)]} on MQTT */
    const unsigned char mp[] = {0x81, 0xa1, 'v', 0x96, 0x01, 0xfe, 0xcb, 0x3f, 0xf8, 0,   0,
                                0,    0,    0,   0,    0xc3, 0xc0, 0xc4, 0x02, 0xff, 0x00};
    cg_inbound_msg_t q = {.bus = CG_BUS_MQTT,
                          .topic = "x/dev",
                          .payload = mp,
                          .len = sizeof(mp),
                          .qos = 1,
                          .retain = true,
                          .timestamp_ms = 1};
    CHECK(cg_normalise(cc->routes[1], &q, &ch, &data, err, sizeof(err)) == CG_NORM_OK);
    CHECK(!strcmp(cg_buf_data(&ch), "/m/dev"));
    j = json_loadb(cg_buf_data(&data), data.len, 0, NULL);
    char *fs = j ? json_dumps(json_object_get(j, "fields"), JSON_COMPACT) : NULL;
    CHECK(fs && !strcmp(fs, "{\"v\":[1,-2,1.5,true,null,\"/wA=\"]}"));
    free(fs);
    CHECK(json_is_true(json_object_get(json_object_get(j, "source"), "retain")));
    json_decref(j);
    q.len = 5; /* truncated */
    CHECK(cg_normalise(cc->routes[1], &q, &ch, &data, err, sizeof(err)) == CG_NORM_EPAYLOAD);
    cg_buf_free(&ch);
    cg_buf_free(&data);
    cg_connectors_config_free(cc);
}

static void test_bad_configs(void)
{
    cg_connectors_config_t *cc = NULL;
    CHECK(load("kafka: {bootstrap_servers: 'h:1'}\nroutes:\n  - {kafka_regex: 'a(', channel: /x}\n",
               &cc) == 1);
    CHECK(load("kafka: {bootstrap_servers: 'h:1', client: {no.such.thing: 1}}\n", &cc) == 1);
    CHECK(load("kafka: {bootstrap_servers: 'h:1'}\nroutes:\n  - {kafka: t, channel: '/x/{1}', "
               "zzz: 1}\n",
               &cc) == 2);
    CHECK(load("mqtt: {uri: 'tcp://h:1', qos: 2}\n", &cc) == 1);
}

/* The value patterns a schema entry must carry for a setting's type. */
static bool schema_type_agrees(const cg_setting_t *st, json_t *p)
{
    json_t *alt = json_array_get(json_object_get(p, "anyOf"), 0);
    json_t *str = json_array_get(json_object_get(p, "anyOf"), 1);
    const char *pattern = json_string_value(json_object_get(str, "pattern"));
    json_t *def = json_object_get(p, "default");
    switch (st->type) {
    case CG_SETTING_INT:
        alt = p;
        pattern = NULL;
        break;
    case CG_SETTING_SIZE:
        if (!pattern || strcmp(pattern, CG_SETTINGS_SIZE_PATTERN))
            return false;
        break;
    case CG_SETTING_DURATION:
        if (!pattern ||
            strcmp(pattern, st->flags & CG_SETTING_SECONDS ? CG_SETTINGS_SECONDS_PATTERN
                                                           : CG_SETTINGS_DURATION_PATTERN))
            return false;
        break;
    case CG_SETTING_BOOL:
        return json_is_string(json_object_get(p, "type")) &&
               !strcmp(json_string_value(json_object_get(p, "type")), "boolean");
    case CG_SETTING_ENUM: {
        json_t *e = json_object_get(p, "enum");
        for (size_t c = 0; st->choices[c].name; c++) {
            bool found = false;
            size_t i;
            json_t *x;
            json_array_foreach(e, i, x)
            {
                found |= json_is_string(x) && !strcmp(json_string_value(x), st->choices[c].name);
                found |= json_is_integer(x) && st->choices[c].name[0] >= '0' &&
                         st->choices[c].name[0] <= '9' &&
                         json_integer_value(x) == atoi(st->choices[c].name);
            }
            if (!found)
                return false;
        }
        return true;
    }
    case CG_SETTING_STRING:
    case CG_SETTING_CUSTOM:
        return !json_object_get(p, "type") ||
               !strcmp(json_string_value(json_object_get(p, "type")), "string");
    case CG_SETTING_MAP:
    case CG_SETTING_LIST:
        if (st->flags & CG_SETTING_LIST_OK)
            return json_array_size(json_object_get(p, "oneOf")) == 2;
        return !strcmp(json_string_value(json_object_get(p, "type")),
                       st->type == CG_SETTING_MAP ? "object" : "array");
    case CG_SETTING_SECTION:
        return true;
    }
    if (!alt || strcmp(json_string_value(json_object_get(alt, "type")) ?: "", "integer"))
        return false;
    if (json_integer_value(json_object_get(alt, "minimum")) != st->min ||
        json_integer_value(json_object_get(alt, "maximum")) != st->max)
        return false;
    return !def || json_integer_value(def) == st->def || st->type == CG_SETTING_SIZE;
}

/* One table against the schema object(s) holding its keys: every setting is there with the same
 * type, bounds and patterns, and every schema property is a setting. `props[scope bit]`. */
static void check_table(const cg_settings_table_t *t, json_t *props, json_t *props_out)
{
    for (size_t i = 0; i < t->count; i++) {
        const cg_setting_t *st = &t->settings[i];
        json_t *where[2] = {props, props_out};
        for (int w = 0; w < 2; w++) {
            if (!where[w] ||
                (st->scope && !(st->scope & (w ? CG_ROUTE_OUTBOUND : CG_ROUTE_INBOUND))))
                continue;
            char key[128];
            snprintf(key, sizeof(key), "%s", st->key);
            char *dot = strchr(key, '.');
            json_t *p;
            if (dot) {
                *dot = '\0';
                p = json_object_get(json_object_get(json_object_get(where[w], key), "properties"),
                                    dot + 1);
            } else {
                p = json_object_get(where[w], key);
            }
            if (!p || !schema_type_agrees(st, p)) {
                fprintf(stderr, "schema %s %s%s (%s)\n", p ? "disagrees on" : "lacks", t->name,
                        st->key, cg_settings_type_name(st->type));
                cg_test_failed++;
            }
        }
    }
    json_t *where[2] = {props, props_out};
    for (int w = 0; w < 2; w++) {
        const char *k;
        json_t *v;
        json_object_foreach(where[w], k, v)
        {
            bool found = false;
            for (size_t i = 0; i < t->count; i++) {
                size_t kl = strlen(k);
                found |= !strcmp(t->settings[i].key, k) ||
                         (!strncmp(t->settings[i].key, k, kl) && t->settings[i].key[kl] == '.');
            }
            for (size_t a = 0; t->aliases && t->aliases[a].old; a++)
                found |= !strcmp(t->aliases[a].old, k);
            if (!found) {
                fprintf(stderr, "schema has %s%s, the table does not\n", t->name, k);
                cg_test_failed++;
            }
        }
    }
}

/* Every setting of every table (core, kafka, mqtt, route) is in the schema with the same type,
 * bounds and patterns, and the other way round. */
static void test_schema_agreement(const char *schema_path)
{
    json_error_t je;
    json_t *s = json_load_file(schema_path, 0, &je);
    CHECK(s);
    if (!s)
        return;
    json_t *props = json_object_get(s, "properties");
    check_table(cg_config_table(), props, NULL);
    const cg_settings_table_t *const *tables;
    size_t n = cg_connectors_config_tables(&tables);
    CHECK(n == 3);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(tables[i]->name, "routes[]")) {
            json_t *defs = json_object_get(s, "$defs");
            check_table(tables[i],
                        json_object_get(json_object_get(defs, "inbound_route"), "properties"),
                        json_object_get(json_object_get(defs, "outbound_route"), "properties"));
        } else {
            check_table(tables[i],
                        json_object_get(json_object_get(props, tables[i]->name), "properties"),
                        NULL);
        }
    }
    json_decref(s);
}

int main(int argc, char **argv)
{
    test_templates();
    test_mqtt_filters();
    test_normalise();
    test_bad_configs();
    test_schema_agreement(argc > 1 ? argv[1] : "schemas/config.schema.json");
    TEST_MAIN_END();
}
