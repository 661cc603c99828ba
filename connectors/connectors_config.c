#include "connectors_config.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway/alloc.h"
#include "../gateway/channel.h"

_Static_assert(sizeof(cg_kafka_start_t) == sizeof(int) && sizeof(cg_format_t) == sizeof(int),
               "ENUM settings write an int");

const char *cg_kafka_start_name(cg_kafka_start_t s)
{
    return s == CG_START_EARLIEST ? "earliest" : s == CG_START_COMMITTED ? "committed" : "latest";
}

/* ---- kafka ---------------------------------------------------------------------------------- */

/* librdkafka properties cometgate sets itself: a value in a property map would break a guarantee.
 */
static const char *const kafka_reserved[] = {"bootstrap.servers",
                                             "metadata.broker.list",
                                             "group.id",
                                             "enable.auto.offset.store",
                                             "enable.partition.eof",
                                             "message.timeout.ms",
                                             "delivery.timeout.ms",
                                             NULL};

#define ROLE_C 1u
#define ROLE_P 2u

/* Which roles a librdkafka property applies to (ROLE_C|ROLE_P for both, 0 unknown), read once
 * from librdkafka's own property table: it is the authority, as for names and values. */
static unsigned kafka_property_roles(const char *name)
{
    static char *table;
    if (!table) {
        size_t len = 0;
        FILE *f = open_memstream(&table, &len);
        if (!f)
            return ROLE_C | ROLE_P;
        rd_kafka_conf_properties_show(f);
        fclose(f);
    }
    unsigned roles = 0;
    size_t n = strlen(name);
    for (const char *line = table; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!strncmp(line, name, n) && line[n] == ' ') {
            const char *bar = strchr(line, '|');
            if (bar && (!end || bar < end)) {
                const char *scope = bar + 1;
                while (*scope == ' ')
                    scope++;
                roles |= *scope == 'C' ? ROLE_C : *scope == 'P' ? ROLE_P : ROLE_C | ROLE_P;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return roles ? roles : ROLE_C | ROLE_P;
}

/* One entry of kafka.client, kafka.consumer or kafka.producer. */
static int check_kafka_property(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    (void)obj;
    for (size_t r = 0; kafka_reserved[r]; r++) {
        if (!strcmp(kafka_reserved[r], val->name)) {
            cg_settings_problem(st, val->v->line, val->key,
                                "set by cometgate (use kafka.bootstrap_servers, kafka.group_id, "
                                "kafka.produce_timeout_ms)");
            return -1;
        }
    }
    char err[256];
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    rd_kafka_conf_res_t res =
        rd_kafka_conf_set(scratch, val->name, val->v->scalar, err, sizeof(err));
    rd_kafka_conf_destroy(scratch);
    if (res != RD_KAFKA_CONF_OK) {
        cg_settings_problem(st, val->v->line, val->key, "%s", err);
        return -1;
    }
    unsigned roles = kafka_property_roles(val->name);
    unsigned want = !strcmp(val->s->key, "consumer")   ? ROLE_C
                    : !strcmp(val->s->key, "producer") ? ROLE_P
                                                       : ROLE_C | ROLE_P;
    if ((roles & want) == want)
        return 0;
    const char *role = roles == ROLE_C ? "consumer" : "producer";
    cg_settings_problem(st, val->v->line, val->key,
                        "a %s property: put it under kafka.%s: (kafka.client: is given to the "
                        "consumer and the producer)",
                        role, role);
    return -1;
}

#define K cg_kafka_config_t
static const cg_setting_choice_t kafka_starts[] = {{"latest", CG_START_LATEST},
                                                   {"earliest", CG_START_EARLIEST},
                                                   {"committed", CG_START_COMMITTED},
                                                   {NULL, 0}};

static const cg_setting_t kafka_settings[] = {
    CG_SET_STR(K, "bootstrap_servers", bootstrap_servers,
               .flags = CG_SETTING_NONEMPTY | CG_SETTING_REQUIRED, .doc = "host:port,host:port"),
    CG_SET_STR(K, "group_id", group_id, .flags = CG_SETTING_NONEMPTY,
               .doc = "offset commits; one per gateway node"),
    CG_SET_ENUM(K, "start", start, "latest", kafka_starts,
                .doc = "where a partition starts when first assigned"),
    CG_SET_MS(K, "metadata_refresh_ms", metadata_refresh_ms, 5000, 100, 3600000,
              .doc = "how soon new topics and partitions are seen"),
    CG_SET_MS(K, "produce_timeout_ms", produce_timeout_ms, 5000, 100, 300000,
              .doc = "outbound: message.timeout.ms"),
    CG_SET_MAP(K, "client", client_props, .check = check_kafka_property,
               .doc = "librdkafka properties for the consumer and the producer"),
    CG_SET_MAP(K, "consumer", consumer, .check = check_kafka_property,
               .doc = "librdkafka properties for the consumer only"),
    CG_SET_MAP(K, "producer", producer, .check = check_kafka_property,
               .doc = "librdkafka properties for the producer only"),
};

static const cg_settings_table_t kafka_table = {
    .name = "kafka",
    .settings = kafka_settings,
    .count = sizeof(kafka_settings) / sizeof(kafka_settings[0]),
    .dotted_hint = "a librdkafka property goes under kafka.client:, kafka.consumer: or "
                   "kafka.producer:",
};

static const cg_kv_list_t *role_props(const cg_kafka_config_t *k, cg_kafka_role_t role)
{
    return role == CG_KAFKA_CONSUMER ? &k->consumer : &k->producer;
}

int cg_kafka_conf_apply(const cg_kafka_config_t *k, cg_kafka_role_t role, rd_kafka_conf_t *conf,
                        char *err, size_t errlen)
{
    const cg_kv_list_t *lists[] = {&k->client_props, role_props(k, role)};
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < lists[l]->n; i++)
            if (rd_kafka_conf_set(conf, lists[l]->items[i].key, lists[l]->items[i].value, err,
                                  errlen) != RD_KAFKA_CONF_OK)
                return -1;
    return 0;
}

bool cg_kafka_conf_has(const cg_kafka_config_t *k, cg_kafka_role_t role, const char *name)
{
    const cg_kv_list_t *lists[] = {&k->client_props, role_props(k, role)};
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < lists[l]->n; i++)
            if (!strcmp(lists[l]->items[i].key, name))
                return true;
    return false;
}

/* ---- mqtt ----------------------------------------------------------------------------------- */

static int check_mqtt_uri(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    (void)obj;
    static const char *const schemes[] = {"tcp://",   "mqtt://", "ssl://",
                                          "mqtts://", "ws://",   "wss://"};
    const char *uri = val->v->scalar;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (!strncmp(uri, schemes[i], strlen(schemes[i])))
            return 0;
    cg_settings_problem(st, val->v->line, val->key,
                        "'%s' is not tcp://HOST:PORT (or mqtt://, ssl://, mqtts://, ws://, wss://)",
                        uri);
    return -1;
}

#define M cg_mqtt_config_t
#define NONEMPTY(fl) .flags = CG_SETTING_NONEMPTY | (fl)
static const cg_setting_choice_t mqtt_versions[] = {{"3.1.1", 4}, {"5", 5}, {"5.0", 5}, {NULL, 0}};
static const cg_setting_choice_t qos_levels[] = {{"0", 0}, {"1", 1}, {NULL, 0}};

static const cg_setting_t mqtt_settings[] = {
    CG_SET_STR(M, "uri", uri, NONEMPTY(CG_SETTING_REQUIRED), .check = check_mqtt_uri,
               .doc = "tcp://HOST:PORT; ssl:// for TLS"),
    CG_SET_STR(M, "client_id", client_id, NONEMPTY(0), .doc = "unique per node"),
    CG_SET_STR(M, "username", username, NONEMPTY(0)),
    CG_SET_STR(M, "password", password, NONEMPTY(CG_SETTING_SECRET)),
    CG_SET_ENUM(M, "version", version, "3.1.1", mqtt_versions),
    CG_SET_ENUM(M, "qos", qos, "1", qos_levels, .doc = "of the subscriptions"),
    CG_SET_BOOL(M, "clean_session", clean_session, 1),
    CG_SET_SECONDS(M, "keepalive_s", keepalive_s, 30, 1, 65535),
    CG_SET_SECONDS(M, "connect_timeout_s", connect_timeout_s, 5, 1, 600),
    CG_SET_SECONDS(M, "reconnect_min_s", reconnect_min_s, 1, 1, 3600),
    CG_SET_SECONDS(M, "reconnect_max_s", reconnect_max_s, 4, 1, 3600),
    CG_SET_MS(M, "publish_timeout_ms", publish_timeout_ms, 5000, 100, 300000,
              .doc = "outbound: no PUBACK this long fails the publish"),
};

static const cg_settings_table_t mqtt_table = {
    .name = "mqtt",
    .settings = mqtt_settings,
    .count = sizeof(mqtt_settings) / sizeof(mqtt_settings[0]),
    .dotted_hint = "paho has no property map: every MQTT setting is one of the keys of mqtt:",
};

/* "cometgate-<hostname>" followed by `tail`. */
static char *host_name(const char *tail)
{
    char host[128] = "node", id[200];
    gethostname(host, sizeof(host) - 1);
    snprintf(id, sizeof(id), "cometgate-%s%s", host, tail);
    return cg_strdup(id);
}

/* ---- routes --------------------------------------------------------------------------------- */

/* A route while it is read: the route itself first (cc->routes holds &rl->r, and freeing the
 * route frees this block), then the YAML nodes whose meaning depends on other keys, kept for the
 * checks after the whole mapping is read. The nodes are not used after loading. */
typedef struct noted {
    const cg_yaml_node_t *v;
    const char *key; /* which of the keys that share it (kafka, kafka_regex, mqtt) */
    int count;
} noted_t;
typedef struct route_load {
    cg_route_t r;
    noted_t source, target, channel, item, key;
    cg_kv_list_t fields;
} route_load_t;

static void route_free(cg_route_t *r)
{
    if (!r)
        return;
    free(r->topic);
    if (!r->outbound && r->source == CG_SOURCE_KAFKA_REGEX && r->topic)
        regfree(&r->re);
    cg_template_free(&r->channel);
    cg_template_free(&r->item);
    cg_template_free(&r->target_topic);
    cg_template_free(&r->key);
    for (size_t i = 0; i < r->nfields; i++) {
        free(r->fields[i].out);
        free(r->fields[i].path);
    }
    free(r->fields);
    free(r->pattern);
    free(r); /* the route_load_t it starts */
}

/* Sources, targets and templates: kept in the noted_t at the setting's offset, checked once the
 * whole route is read (what a template may hold depends on the source). */
static int note(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    noted_t *n = (noted_t *)((char *)obj + val->s->offset);
    if (!cg_settings_scalar(st, val->v, val->key))
        return -1;
    n->v = val->v;
    n->key = val->s->key;
    n->count++;
    return 0;
}

static int check_field_path(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    (void)obj;
    const char *path = val->v->scalar;
    char tpl[600], err[128];
    snprintf(tpl, sizeof(tpl), "{field.%s}", path);
    cg_template_t probe;
    if (*path && *val->name && !cg_template_compile(&probe, tpl, CG_TPL_FIELD, err, sizeof(err))) {
        cg_template_free(&probe);
        return 0;
    }
    cg_template_free(&probe);
    cg_settings_problem(st, val->v->line, val->key, "'%s' is not a field path (a.b.c)", path);
    return -1;
}

static int check_publish_pattern(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    (void)obj;
    const char *p = val->v->scalar;
    cg_channel_kind_t kind;
    if (p[0] != '/' || cg_channel_validate(p, strlen(p), 65536, &kind)) {
        cg_settings_problem(st, val->v->line, val->key, "'%s' is not a channel or channel pattern",
                            p);
        return -1;
    }
    if (cg_channel_is_meta(p) || cg_channel_is_service(p) || !strcmp(p, "/**") ||
        !strcmp(p, "/*")) {
        cg_settings_problem(st, val->v->line, val->key,
                            "'%s' would take /meta or /service publishes: name a narrower pattern",
                            p);
        return -1;
    }
    return 0;
}

#define R route_load_t
#define IN .scope = CG_ROUTE_INBOUND
#define OUT .scope = CG_ROUTE_OUTBOUND

static const cg_setting_choice_t formats[] = {{"json", CG_FORMAT_JSON},
                                              {"msgpack", CG_FORMAT_MSGPACK},
                                              {"text", CG_FORMAT_TEXT},
                                              {"bytes", CG_FORMAT_BYTES},
                                              {NULL, 0}};

static const cg_setting_t route_settings[] = {
    CG_SET_STRBUF(R, "name", r.name, NULL, .flags = CG_SETTING_NONEMPTY),
    CG_SET_CUSTOM(R, "kafka", source, note, IN, .doc = "exact Kafka topic"),
    CG_SET_CUSTOM(R, "kafka_regex", source, note, IN, .doc = "POSIX extended regex over topics"),
    CG_SET_CUSTOM(R, "mqtt", source, note, IN, .doc = "MQTT topic filter (+, #)"),
    CG_SET_CUSTOM(R, "channel", channel, note, IN, .doc = "channel template"),
    CG_SET_ENUM(R, "format", r.format, "json", formats, IN),
    CG_SET_CUSTOM(R, "item", item, note, IN, .doc = "item name template"),
    CG_SET_MAP(R, "fields", fields, IN, .flags = CG_SETTING_LIST_OK, .check = check_field_path,
               .doc = "projection: field paths, or output name: field path"),
    CG_SET_SIZE(R, "max_size", r.max_size, 0, 1, 1073741824, IN,
                .doc = "payload bytes; default limits.max_message_size"),
    CG_SET_STR(R, "publish", r.pattern, OUT, .check = check_publish_pattern,
               .doc = "channel or pattern"),
    CG_SET_CUSTOM(R, "to_kafka", target, note, OUT, .doc = "Kafka topic template"),
    CG_SET_CUSTOM(R, "to_mqtt", target, note, OUT, .doc = "MQTT topic template"),
    CG_SET_CUSTOM(R, "key", key, note, OUT, .doc = "Kafka key template; default {channel}"),
    CG_SET_ENUM(R, "qos", r.qos, "1", qos_levels, OUT),
    CG_SET_BOOL(R, "retain", r.retain, 0, OUT),
};

static const cg_settings_table_t route_table = {
    .name = "routes[]",
    .settings = route_settings,
    .count = sizeof(route_settings) / sizeof(route_settings[0]),
};

size_t cg_connectors_config_tables(const cg_settings_table_t *const **out)
{
    static const cg_settings_table_t *const tables[] = {&kafka_table, &mqtt_table, &route_table};
    *out = tables;
    return sizeof(tables) / sizeof(tables[0]);
}

static int compile(cg_settings_t *st, const cg_yaml_node_t *v, const char *key, unsigned allowed,
                   cg_template_t *t)
{
    char err[256];
    if (cg_template_compile(t, v->scalar, allowed, err, sizeof(err))) {
        cg_settings_problem(st, v->line, key, "bad template '%s': %s", v->scalar, err);
        return -1;
    }
    return 0;
}

/* A channel template must give a valid plain channel whatever the placeholders hold: expand every
 * placeholder as "x" and validate. */
static void check_channel_template(cg_settings_t *st, const cg_template_t *t, int line,
                                   const char *key)
{
    cg_buf_t b;
    cg_buf_init(&b, 0);
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].kind == CG_TP_LIT)
            cg_buf_append(&b, t->parts[i].text, t->parts[i].len);
        else
            cg_buf_append(&b, "x", 1);
    }
    cg_buf_append(&b, "", 1);
    const char *c = cg_buf_data(&b);
    cg_channel_kind_t kind;
    if (c[0] != '/' || cg_channel_validate(c, strlen(c), 65536, &kind) || kind != CG_CHANNEL_PLAIN)
        cg_settings_problem(st, line, key, "'%s' does not make a valid channel name", t->source);
    else if (cg_channel_is_meta(c) || cg_channel_is_service(c))
        cg_settings_problem(st, line, key, "'%s': a bus message cannot go to /meta or /service",
                            t->source);
    cg_buf_free(&b);
}

/* How many levels every topic a filter matches has at least ("a/+" 2), and whether it may have
 * more (a last # in an MQTT filter, a last ** in a channel pattern). */
static size_t levels_of(const char *s, const char *open_level, bool *open)
{
    char buf[1024];
    const char *levels[64];
    size_t n = cg_split_levels(s, '/', buf, sizeof(buf), levels, 64);
    *open = n && !strcmp(levels[n - 1], open_level);
    return n;
}

/* {N} beyond the levels a route's source or pattern can have: fails on every message. */
static void check_levels(cg_settings_t *st, const cg_template_t *t, const cg_yaml_node_t *v,
                         const char *key, const cg_route_t *r)
{
    bool outbound = r->outbound, open;
    const char *source = outbound ? r->pattern : r->topic;
    size_t n = levels_of(source, outbound ? "**" : "#", &open);
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].kind != CG_TP_LEVEL || open || (size_t)t->parts[i].level <= n)
            continue;
        cg_settings_problem(st, v->line, key, "{%d}: the %s '%s' has only %zu levels",
                            t->parts[i].level, outbound ? "channel pattern" : "topic filter",
                            source, n);
        return;
    }
}

/* A text or bytes payload is the one field "text" or "bytes": any other path is never there. */
static bool field_possible(cg_format_t format, const char *path)
{
    const char *only = format == CG_FORMAT_TEXT ? "text" : "bytes";
    return (format != CG_FORMAT_TEXT && format != CG_FORMAT_BYTES) || !strcmp(path, only);
}

static void check_fields(cg_settings_t *st, const cg_route_t *r, const cg_template_t *t,
                         const cg_yaml_node_t *v, const char *key)
{
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].kind == CG_TP_FIELD && !field_possible(r->format, t->parts[i].text)) {
            cg_settings_problem(st, v->line, key,
                                "{field.%s}: a %s route's payload has only the field '%s'",
                                t->parts[i].text, cg_format_name(r->format),
                                r->format == CG_FORMAT_TEXT ? "text" : "bytes");
            return;
        }
    }
}

/* The route's bus needs its section: `what` names the key that asked for it. */
static void need_section(cg_settings_t *st, const cg_route_t *r, const char *base, bool kafka,
                         const char *what, const cg_connectors_config_t *cc)
{
    if (kafka ? !cc->kafka.enabled : !cc->mqtt.enabled)
        cg_settings_problem(st, r->line, base, "%s, but there is no %s section", what,
                            kafka ? "kafka" : "mqtt");
}

static void finish_outbound(cg_settings_t *st, route_load_t *rl, const char *base,
                            const cg_connectors_config_t *cc)
{
    cg_route_t *r = &rl->r;
    const cg_yaml_node_t *v = rl->target.v;
    char key[160];
    r->target = !strcmp(rl->target.key, "to_kafka") ? CG_TARGET_KAFKA : CG_TARGET_MQTT;
    need_section(st, r, base, r->target == CG_TARGET_KAFKA, rl->target.key, cc);
    const unsigned allowed = CG_TPL_CHANNEL | CG_TPL_LEVEL | CG_TPL_FIELD;
    snprintf(key, sizeof(key), "%s.%s", base, rl->target.key);
    if (!compile(st, v, key, allowed, &r->target_topic)) {
        if (r->target_topic.nparts == 0)
            cg_settings_problem(st, v->line, key, "must not be empty");
        else if (r->target == CG_TARGET_MQTT && strpbrk(r->target_topic.source, "+#"))
            cg_settings_problem(st, v->line, key, "an MQTT topic to publish to cannot hold + or #");
        else if (r->pattern)
            check_levels(st, &r->target_topic, v, key, r);
    }
    if (rl->key.v) {
        snprintf(key, sizeof(key), "%s.key", base);
        if (r->target != CG_TARGET_KAFKA) {
            cg_settings_problem(st, rl->key.v->line, key, "only Kafka messages have a key");
        } else if (!compile(st, rl->key.v, key, allowed, &r->key)) {
            r->has_key = true;
            if (r->pattern)
                check_levels(st, &r->key, rl->key.v, key, r);
        }
    } else if (r->target == CG_TARGET_KAFKA) {
        char err[64];
        if (!cg_template_compile(&r->key, "{channel}", CG_TPL_CHANNEL, err, sizeof(err)))
            r->has_key = true;
    }
}

static void finish_inbound(cg_settings_t *st, route_load_t *rl, const char *base,
                           const cg_connectors_config_t *cc)
{
    cg_route_t *r = &rl->r;
    const cg_yaml_node_t *v = rl->source.v;
    char key[160];
    snprintf(key, sizeof(key), "%s.%s", base, rl->source.key);
    r->topic = cg_strdup(v->scalar);
    if (!*r->topic) {
        cg_settings_problem(st, v->line, key, "must not be empty");
    } else if (!strcmp(rl->source.key, "kafka")) {
        r->source = CG_SOURCE_KAFKA;
    } else if (!strcmp(rl->source.key, "kafka_regex")) {
        r->source = CG_SOURCE_KAFKA_REGEX;
        int e = regcomp(&r->re, r->topic, REG_EXTENDED | REG_NOSUB);
        if (e) {
            char err[200];
            regerror(e, &r->re, err, sizeof(err));
            cg_settings_problem(st, v->line, key, "bad regex '%s': %s", r->topic, err);
            free(r->topic);
            r->topic = NULL;
        }
    } else {
        r->source = CG_SOURCE_MQTT;
        if (!cg_mqtt_filter_valid(r->topic))
            cg_settings_problem(st, v->line, key,
                                "'%s' is not an MQTT topic filter (+ and # stand for whole "
                                "levels, # only last)",
                                r->topic);
    }
    bool is_mqtt = r->source == CG_SOURCE_MQTT;
    need_section(st, r, base, !is_mqtt, is_mqtt ? "an MQTT source" : "a Kafka source", cc);
    unsigned allowed =
        CG_TPL_TOPIC | CG_TPL_FIELD | (is_mqtt ? CG_TPL_LEVEL : CG_TPL_KEY | CG_TPL_PARTITION);
    const cg_yaml_node_t *nodes[2] = {rl->channel.v, rl->item.v};
    cg_template_t *tpls[2] = {&r->channel, &r->item};
    for (int i = 0; i < 2; i++) {
        if (!nodes[i])
            continue;
        snprintf(key, sizeof(key), "%s.%s", base, i ? "item" : "channel");
        if (compile(st, nodes[i], key, allowed, tpls[i]))
            continue;
        if (i)
            r->has_item = true;
        else
            check_channel_template(st, tpls[i], nodes[i]->line, key);
        if (is_mqtt && r->topic)
            check_levels(st, tpls[i], nodes[i], key, r);
        check_fields(st, r, tpls[i], nodes[i], key);
    }
    if (!rl->channel.v)
        cg_settings_problem(st, r->line, base, "'channel' is required");
    r->fields = cg_calloc(rl->fields.n + 1, sizeof(*r->fields));
    for (size_t i = 0; i < rl->fields.n; i++) {
        cg_kv_t *f = &rl->fields.items[i];
        if (!field_possible(r->format, f->value))
            cg_settings_problem(st, r->line, base,
                                "fields: '%s': a %s route's payload has only the field '%s'",
                                f->value, cg_format_name(r->format),
                                r->format == CG_FORMAT_TEXT ? "text" : "bytes");
        r->fields[r->nfields].out = f->key;
        r->fields[r->nfields].path = f->value;
        r->nfields++;
    }
    free(rl->fields.items);
    rl->fields = (cg_kv_list_t){0};
}

static cg_route_t *load_route(cg_settings_t *st, const cg_yaml_node_t *v, size_t idx,
                              const cg_connectors_config_t *cc, int64_t default_max_size)
{
    char base[32], prefix[40];
    snprintf(base, sizeof(base), "routes[%zu]", idx);
    snprintf(prefix, sizeof(prefix), "%s.", base);
    if (v->type != CG_YAML_MAP) {
        cg_settings_problem(st, v->line, base, "expected a mapping");
        return NULL;
    }
    route_load_t *rl = cg_calloc(1, sizeof(*rl));
    cg_route_t *r = &rl->r;
    r->line = v->line;
    r->outbound = cg_yaml_get(v, "publish") != NULL;
    unsigned scope = r->outbound ? CG_ROUTE_OUTBOUND : CG_ROUTE_INBOUND;
    cg_settings_defaults(&route_table, scope, rl);
    r->max_size = default_max_size;
    snprintf(r->name, sizeof(r->name), "route%zu", idx + 1);
    int before = st->errors;
    cg_settings_section_t sec = {
        .map = v,
        .prefix = prefix,
        .scope = scope,
        .elsewhere = r->outbound ? "not allowed in an outbound route (it has 'publish')"
                                 : "not allowed in an inbound route (it has no 'publish')",
        .obj = rl};
    cg_settings_load(st, &route_table, &sec);
    if ((r->outbound ? rl->target.count : rl->source.count) != 1)
        cg_settings_problem(st, r->line, base, "%s",
                            r->outbound ? "an outbound route needs exactly one of to_kafka, to_mqtt"
                                        : "an inbound route needs exactly one of kafka, "
                                          "kafka_regex, mqtt (or 'publish' for an outbound route)");
    else if (r->outbound)
        finish_outbound(st, rl, base, cc);
    else
        finish_inbound(st, rl, base, cc);
    const cg_yaml_node_t *retain = cg_yaml_get(v, "retain");
    if (r->outbound && r->target == CG_TARGET_KAFKA && rl->target.count == 1 && retain) {
        char key[160];
        snprintf(key, sizeof(key), "%s.retain", base);
        cg_settings_problem(st, retain->line, key, "only MQTT messages are retained");
    }
    for (size_t i = 0; i < cc->nroutes; i++)
        if (!strcmp(cc->routes[i]->name, r->name))
            cg_settings_problem(st, v->line, base, "route name '%s' is already used (line %d)",
                                r->name, cc->routes[i]->line);
    if (st->errors != before) {
        cg_settings_free(&route_table, rl); /* fields not yet moved into the route */
        route_free(r);
        return NULL;
    }
    return r;
}

int cg_connectors_config_load(const cg_config_t *cfg, cg_connectors_config_t **out,
                              cg_config_report_fn report, void *arg)
{
    cg_settings_t st = {.file = cfg->source, .report = report, .arg = arg};
    cg_connectors_config_t *cc = cg_calloc(1, sizeof(*cc));
    const cg_yaml_node_t *k = cg_config_section(cfg, "kafka");
    const cg_yaml_node_t *m = cg_config_section(cfg, "mqtt");
    const cg_yaml_node_t *routes = cg_config_section(cfg, "routes");
    if (k) {
        cc->kafka.enabled = true;
        cg_settings_defaults(&kafka_table, 0, &cc->kafka);
        cg_settings_section_t sec = {.map = k, .prefix = "kafka.", .obj = &cc->kafka};
        cg_settings_load(&st, &kafka_table, &sec);
        if (!cc->kafka.group_id)
            cc->kafka.group_id = host_name("");
    }
    if (m) {
        cc->mqtt.enabled = true;
        cg_settings_defaults(&mqtt_table, 0, &cc->mqtt);
        cg_settings_section_t sec = {.map = m, .prefix = "mqtt.", .obj = &cc->mqtt};
        cg_settings_load(&st, &mqtt_table, &sec);
        if (cc->mqtt.reconnect_max_s < cc->mqtt.reconnect_min_s)
            cg_settings_problem(&st, m->line, "mqtt.reconnect_max_s",
                                "smaller than reconnect_min_s");
        if (!cc->mqtt.client_id) {
            char pid[32];
            snprintf(pid, sizeof(pid), "-%ld", (long)getpid());
            cc->mqtt.client_id = host_name(pid);
        }
    }
    if (routes && routes->type != CG_YAML_SEQ) {
        cg_settings_problem(&st, routes->line, "routes", "expected a list of routes");
    } else if (routes) {
        cc->routes = cg_calloc(routes->count + 1, sizeof(*cc->routes));
        for (size_t i = 0; i < routes->count; i++) {
            cg_route_t *r = load_route(&st, routes->items[i], i, cc, cfg->limits.max_message_size);
            if (!r)
                continue;
            cc->routes[cc->nroutes++] = r;
            if (r->outbound)
                cc->noutbound++;
            else
                cc->ninbound++;
        }
    }
    if (st.errors) {
        cg_connectors_config_free(cc);
        return st.errors;
    }
    *out = cc;
    return 0;
}

void cg_connectors_config_free(cg_connectors_config_t *cc)
{
    if (!cc)
        return;
    cg_settings_free(&kafka_table, &cc->kafka);
    cg_settings_free(&mqtt_table, &cc->mqtt);
    for (size_t i = 0; i < cc->nroutes; i++)
        route_free(cc->routes[i]);
    free(cc->routes);
    free(cc);
}

/* ---- printing ------------------------------------------------------------------------------- */

/* A YAML double-quoted scalar. Rotates over a few buffers so one outf call can hold several. */
static const char *yq(const char *s)
{
    static char bufs[4][600];
    static int next;
    char *b = bufs[next++ & 3];
    cg_settings_quote(s ? s : "", b, sizeof(bufs[0]));
    return b;
}

static void outf(void (*out)(void *, const char *), void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void outf(void (*out)(void *, const char *), void *arg, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    out(arg, line);
}

void cg_connectors_config_print(const cg_connectors_config_t *cc,
                                void (*out)(void *arg, const char *line), void *arg)
{
    if (cc->kafka.enabled) {
        out(arg, "kafka:");
        cg_settings_print(&kafka_table, 0, &cc->kafka, 2, out, arg);
    }
    if (cc->mqtt.enabled) {
        out(arg, "mqtt:");
        cg_settings_print(&mqtt_table, 0, &cc->mqtt, 2, out, arg);
    }
    if (!cc->nroutes) {
        out(arg, "routes: []");
        return;
    }
    out(arg, "routes:");
    for (size_t i = 0; i < cc->nroutes; i++) {
        const cg_route_t *r = cc->routes[i];
        outf(out, arg, "  - name: %s    # line %d", yq(r->name), r->line);
        if (r->outbound) {
            outf(out, arg, "    publish: %s", yq(r->pattern));
            outf(out, arg, "    %s: %s", r->target == CG_TARGET_KAFKA ? "to_kafka" : "to_mqtt",
                 yq(r->target_topic.source));
            if (r->target == CG_TARGET_KAFKA)
                outf(out, arg, "    key: %s", yq(r->key.source));
            else
                outf(out, arg, "    qos: %d\n    retain: %s", r->qos, r->retain ? "true" : "false");
            continue;
        }
        const char *sk = r->source == CG_SOURCE_KAFKA         ? "kafka"
                         : r->source == CG_SOURCE_KAFKA_REGEX ? "kafka_regex"
                                                              : "mqtt";
        outf(out, arg, "    %s: %s", sk, yq(r->topic));
        outf(out, arg, "    channel: %s", yq(r->channel.source));
        outf(out, arg, "    format: %s", cg_format_name(r->format));
        if (r->has_item)
            outf(out, arg, "    item: %s", yq(r->item.source));
        else
            outf(out, arg, "    item: null    # default: %s",
                 r->source == CG_SOURCE_MQTT ? "the topic" : "the key, or the topic without a key");
        if (r->nfields) {
            out(arg, "    fields:");
            for (size_t j = 0; j < r->nfields; j++)
                outf(out, arg, "      %s: %s", yq(r->fields[j].out), yq(r->fields[j].path));
        }
        outf(out, arg, "    max_size: %" PRId64, r->max_size);
    }
}
