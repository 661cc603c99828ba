#include "settings.h"
#include "alloc.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_settings_problem(cg_settings_t *st, int line, const char *key, const char *fmt, ...)
{
    char msg[512], full[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "%s:%d: %s: %s", st->file, line, key, msg);
    st->errors++;
    if (st->report)
        st->report(st->arg, full);
}

const char *cg_settings_scalar(cg_settings_t *st, const cg_yaml_node_t *v, const char *key)
{
    if (v->type != CG_YAML_SCALAR) {
        cg_settings_problem(st, v->line, key, "expected a single value, not a %s",
                            v->type == CG_YAML_MAP ? "mapping" : "list");
        return NULL;
    }
    return v->scalar;
}

const char *cg_settings_type_name(cg_setting_type_t type)
{
    switch (type) {
    case CG_SETTING_INT:
        return "integer";
    case CG_SETTING_SIZE:
        return "size";
    case CG_SETTING_DURATION:
        return "duration";
    case CG_SETTING_BOOL:
        return "boolean";
    case CG_SETTING_STRING:
    case CG_SETTING_CUSTOM:
        return "string";
    case CG_SETTING_ENUM:
        return "enum";
    case CG_SETTING_MAP:
    case CG_SETTING_SECTION:
        return "object";
    case CG_SETTING_LIST:
        return "array";
    }
    return "?";
}

/* ---- value parsers --------------------------------------------------------------------------- */

/* A decimal integer followed by a suffix from `units` (NULL-ended pairs of name and multiplier);
 * no suffix multiplies by `bare`. */
typedef struct unit {
    const char *suffix;
    int64_t mul;
} unit_t;

static int parse_with_units(const char *s, const unit_t *units, int64_t bare, int64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || !(*s == '-' || (*s >= '0' && *s <= '9')))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    int64_t mul = bare;
    if (*end) {
        mul = 0;
        for (size_t i = 0; units[i].suffix; i++)
            if (!strcmp(end, units[i].suffix))
                mul = units[i].mul;
        if (!mul)
            return -1;
    }
    if (v > INT64_MAX / mul || v < INT64_MIN / mul)
        return -1;
    *out = (int64_t)v * mul;
    return 0;
}

int cg_settings_parse_size(const char *s, int64_t *out)
{
    static const unit_t units[] = {{"k", 1024},        {"K", 1024},    {"m", 1024 * 1024},
                                   {"M", 1024 * 1024}, {"g", 1 << 30}, {"G", 1 << 30},
                                   {NULL, 0}};
    return parse_with_units(s, units, 1, out);
}

/* In milliseconds; with `seconds`, a whole number of seconds. */
int cg_settings_parse_duration(const char *s, bool seconds, int64_t *out)
{
    static const unit_t units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0}};
    int64_t ms;
    if (parse_with_units(s, units, seconds ? 1000 : 1, &ms))
        return -1;
    if (seconds && ms % 1000)
        return -1;
    *out = seconds ? ms / 1000 : ms;
    return 0;
}

/* ---- one value ------------------------------------------------------------------------------- */

static bool has_suffix(const char *s)
{
    size_t n = strlen(s);
    return n && !(s[n - 1] >= '0' && s[n - 1] <= '9');
}

static void *field_of(const cg_setting_t *s, void *obj)
{
    return (char *)obj + s->offset;
}

static int parse_number(cg_settings_t *st, const cg_setting_value_t *val, int64_t *x)
{
    const cg_setting_t *s = val->s;
    const cg_yaml_node_t *v = val->v;
    const char *text = v->scalar;
    int rc = -1;
    const char *what = "an integer";
    /* A quoted bare number is a string, as in the schema; a quoted "250ms" is still a duration. */
    bool quoted_bare = v->quoted && !has_suffix(text);
    switch (s->type) {
    case CG_SETTING_INT:
        rc = v->quoted ? -1 : parse_with_units(text, (const unit_t[]){{NULL, 0}}, 1, x);
        break;
    case CG_SETTING_SIZE:
        what = "a size (bytes, or with k, m, g)";
        rc = quoted_bare ? -1 : cg_settings_parse_size(text, x);
        break;
    default:
        what = s->flags & CG_SETTING_SECONDS
                   ? "a duration (seconds, or whole seconds with ms, s, m, h)"
                   : "a duration (milliseconds, or with ms, s, m, h)";
        rc = quoted_bare ? -1 : cg_settings_parse_duration(text, s->flags & CG_SETTING_SECONDS, x);
        break;
    }
    if (rc) {
        cg_settings_problem(st, v->line, val->key, "'%s' is not %s", text, what);
        return -1;
    }
    if (*x < s->min || *x > s->max) {
        cg_settings_problem(st, v->line, val->key,
                            "%" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]%s", *x, s->min,
                            s->max,
                            s->type != CG_SETTING_DURATION  ? ""
                            : s->flags & CG_SETTING_SECONDS ? " seconds"
                                                            : " ms");
        return -1;
    }
    return 0;
}

static void choices_text(const cg_setting_choice_t *c, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; c[i].name && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", c[i].name);
}

/* MAP and LIST: entries into a cg_kv_list_t, each through the check. */
static void load_entries(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    const cg_setting_t *s = val->s;
    const cg_yaml_node_t *v = val->v;
    bool as_list =
        v->type == CG_YAML_SEQ && (s->type == CG_SETTING_LIST || (s->flags & CG_SETTING_LIST_OK));
    if (v->type == CG_YAML_SCALAR || (v->type == CG_YAML_SEQ && !as_list) ||
        (v->type == CG_YAML_MAP && s->type == CG_SETTING_LIST)) {
        cg_settings_problem(st, v->line, val->key, "expected %s",
                            s->type == CG_SETTING_LIST ? "a list"
                            : s->flags & CG_SETTING_LIST_OK
                                ? "a list, or a mapping of names to values"
                                : "a mapping");
        return;
    }
    cg_kv_list_t *list = field_of(s, obj);
    list->items = cg_realloc(list->items, (list->n + v->count + 1) * sizeof(*list->items));
    for (size_t i = 0; i < v->count; i++) {
        char key[300];
        if (as_list)
            snprintf(key, sizeof(key), "%s[%zu]", val->key, i);
        else
            snprintf(key, sizeof(key), "%s.%s", val->key, v->keys[i]);
        const char *text = cg_settings_scalar(st, v->items[i], key);
        if (!text)
            continue;
        const char *name = as_list ? text : v->keys[i];
        bool dup = false;
        for (size_t j = 0; j < list->n; j++)
            dup |= !strcmp(list->items[j].key, name);
        if (dup) {
            cg_settings_problem(st, v->items[i]->line, key, "'%s' is listed twice", name);
            continue;
        }
        cg_setting_value_t e = {.s = s, .key = key, .name = name, .v = v->items[i]};
        if (s->check && s->check(st, &e, obj))
            continue;
        list->items[list->n].key = cg_strdup(name);
        list->items[list->n].value = cg_strdup(text);
        list->n++;
    }
}

/* Writes a parsed value: numbers and booleans from x, a string from text, a choice by index x. */
static void store(const cg_setting_t *s, void *field, int64_t x, const char *text)
{
    switch (s->type) {
    case CG_SETTING_INT:
    case CG_SETTING_SIZE:
    case CG_SETTING_DURATION:
        *(int64_t *)field = x;
        break;
    case CG_SETTING_BOOL:
        *(bool *)field = x != 0;
        break;
    case CG_SETTING_STRING:
        if (s->size) {
            snprintf(field, s->size, "%s", text ? text : "");
        } else {
            free(*(char **)field);
            *(char **)field = text ? cg_strdup(text) : NULL;
        }
        break;
    case CG_SETTING_ENUM:
        if (s->size)
            snprintf(field, s->size, "%s", s->choices[x].name);
        else
            *(int *)field = s->choices[x].value;
        break;
    default:
        break;
    }
}

static void apply(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    const cg_setting_t *s = val->s;
    const cg_yaml_node_t *v = val->v;
    void *field = field_of(s, obj);
    if (s->type == CG_SETTING_CUSTOM) {
        if (s->check)
            s->check(st, val, obj);
        return;
    }
    if (s->type == CG_SETTING_MAP || s->type == CG_SETTING_LIST) {
        load_entries(st, val, obj);
        return;
    }
    const char *text = cg_settings_scalar(st, v, val->key);
    if (!text)
        return;
    int64_t x = 0;
    bool b = false;
    int choice = -1;
    switch (s->type) {
    case CG_SETTING_INT:
    case CG_SETTING_SIZE:
    case CG_SETTING_DURATION:
        if (parse_number(st, val, &x))
            return;
        break;
    case CG_SETTING_BOOL:
        if (!v->quoted && (!strcmp(text, "true") || !strcmp(text, "yes")))
            b = true;
        else if (v->quoted || (strcmp(text, "false") && strcmp(text, "no"))) {
            cg_settings_problem(st, v->line, val->key, "'%s' is not true or false", text);
            return;
        }
        break;
    case CG_SETTING_STRING:
        if ((s->flags & CG_SETTING_NONEMPTY) && !*text) {
            cg_settings_problem(st, v->line, val->key, "must not be empty");
            return;
        }
        if (s->size && strlen(text) >= s->size) {
            cg_settings_problem(st, v->line, val->key, "longer than %zu characters", s->size - 1);
            return;
        }
        break;
    case CG_SETTING_ENUM:
        for (size_t i = 0; s->choices[i].name; i++)
            if (!strcmp(s->choices[i].name, text))
                choice = (int)i;
        if (choice < 0) {
            char names[256];
            choices_text(s->choices, names, sizeof(names));
            cg_settings_problem(st, v->line, val->key, "'%s' is not one of %s", text, names);
            return;
        }
        break;
    default:
        return;
    }
    if (s->check && s->check(st, val, obj))
        return;
    store(s, field, s->type == CG_SETTING_BOOL ? b : s->type == CG_SETTING_ENUM ? choice : x, text);
}

/* ---- tables ---------------------------------------------------------------------------------- */

static bool in_scope(const cg_setting_t *s, unsigned scope)
{
    return !scope || !s->scope || (s->scope & scope);
}

void cg_settings_defaults(const cg_settings_table_t *t, unsigned scope, void *obj)
{
    for (size_t i = 0; i < t->count; i++) {
        const cg_setting_t *s = &t->settings[i];
        if (!in_scope(s, scope))
            continue;
        int64_t x = s->def;
        for (size_t c = 0; s->type == CG_SETTING_ENUM && s->choices[c].name; c++)
            if (!strcmp(s->choices[c].name, s->sdef))
                x = (int64_t)c;
        store(s, field_of(s, obj), x, s->sdef);
    }
}

static const cg_setting_t *find(const cg_settings_table_t *t, const char *group, const char *key)
{
    size_t gl = strlen(group);
    for (size_t i = 0; i < t->count; i++) {
        const char *k = t->settings[i].key;
        if (!strncmp(k, group, gl) && !strcmp(k + gl, key))
            return &t->settings[i];
    }
    return NULL;
}

/* Is `group` + key + "." the start of some setting's key (a group of settings)? */
static bool is_group(const cg_settings_table_t *t, const char *group, const char *key)
{
    size_t gl = strlen(group), kl = strlen(key);
    for (size_t i = 0; i < t->count; i++) {
        const char *k = t->settings[i].key;
        if (!strncmp(k, group, gl) && !strncmp(k + gl, key, kl) && k[gl + kl] == '.')
            return true;
    }
    return false;
}

static void load_group(cg_settings_t *st, const cg_settings_table_t *t,
                       const cg_settings_section_t *sec, const cg_yaml_node_t *map,
                       const char *group)
{
    for (size_t i = 0; i < map->count; i++) {
        const char *k = map->keys[i];
        const cg_yaml_node_t *v = map->items[i];
        for (size_t a = 0; t->aliases && t->aliases[a].old; a++) {
            if (!strcmp(k, t->aliases[a].old)) {
                cg_log(CG_LOG_WARN, "config", "%s:%d: %s%s%s: deprecated name, use %s", st->file,
                       map->key_lines[i], sec->prefix, group, k, t->aliases[a].now);
                k = t->aliases[a].now;
            }
        }
        char key[300], sub[200];
        snprintf(key, sizeof(key), "%s%s%s", sec->prefix, group, k);
        const cg_setting_t *s = find(t, group, k);
        if (s && s->type == CG_SETTING_SECTION)
            continue; /* read by the module that owns it */
        if (s && !in_scope(s, sec->scope)) {
            cg_settings_problem(st, map->key_lines[i], key, "%s", sec->elsewhere);
            continue;
        }
        if (s) {
            cg_setting_value_t val = {.s = s, .key = key, .name = k, .v = v};
            apply(st, &val, sec->obj);
            continue;
        }
        if (is_group(t, group, k)) {
            if (v->type != CG_YAML_MAP) {
                cg_settings_problem(st, v->line, key, "expected a mapping");
                continue;
            }
            snprintf(sub, sizeof(sub), "%s%s.", group, k);
            load_group(st, t, sec, v, sub);
            continue;
        }
        if (strchr(k, '.') && t->dotted_hint)
            cg_settings_problem(st, map->key_lines[i], key, "unknown key (%s)", t->dotted_hint);
        else
            cg_settings_problem(st, map->key_lines[i], key, "unknown key");
    }
}

void cg_settings_load(cg_settings_t *st, const cg_settings_table_t *t,
                      const cg_settings_section_t *sec)
{
    const char *where = t->name[0] ? t->name : "(top)";
    if (sec->map->type != CG_YAML_MAP) {
        char key[200];
        snprintf(key, sizeof(key), "%.*s", (int)strlen(sec->prefix) - (sec->prefix[0] ? 1 : 0),
                 sec->prefix[0] ? sec->prefix : where);
        cg_settings_problem(st, sec->map->line, key, "expected a mapping");
        return;
    }
    load_group(st, t, sec, sec->map, "");
    for (size_t i = 0; i < t->count; i++) {
        const cg_setting_t *s = &t->settings[i];
        if (!(s->flags & CG_SETTING_REQUIRED) || !in_scope(s, sec->scope) || strchr(s->key, '.') ||
            cg_yaml_get(sec->map, s->key))
            continue;
        char key[300];
        snprintf(key, sizeof(key), "%s%s", sec->prefix, s->key);
        cg_settings_problem(st, sec->map->line, key, "required");
    }
}

void cg_settings_free(const cg_settings_table_t *t, void *obj)
{
    for (size_t i = 0; i < t->count; i++) {
        const cg_setting_t *s = &t->settings[i];
        void *field = field_of(s, obj);
        if (s->type == CG_SETTING_STRING && !s->size) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (s->type == CG_SETTING_MAP || s->type == CG_SETTING_LIST) {
            cg_kv_list_t *l = field;
            for (size_t j = 0; j < l->n; j++) {
                free(l->items[j].key);
                free(l->items[j].value);
            }
            free(l->items);
            l->items = NULL;
            l->n = 0;
        }
    }
}

/* ---- printing -------------------------------------------------------------------------------- */

void cg_settings_quote(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    buf[o++] = '"';
    for (; *s && o + 4 < len; s++) {
        if (*s == '"' || *s == '\\')
            buf[o++] = '\\';
        buf[o++] = *s;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

static bool secret_name(const char *k)
{
    return strstr(k, "password") || strstr(k, "secret") || strstr(k, "key.pem");
}

static void print_line(void (*out)(void *, const char *), void *arg, int indent, const char *key,
                       const char *value, const char *doc)
{
    char line[1200];
    if (doc)
        snprintf(line, sizeof(line), "%*s%s: %s    # %s", indent, "", key, value, doc);
    else
        snprintf(line, sizeof(line), "%*s%s: %s", indent, "", key, value);
    out(arg, line);
}

void cg_settings_print(const cg_settings_table_t *t, unsigned scope, const void *obj, int indent,
                       void (*out)(void *arg, const char *line), void *arg)
{
    const char *group = NULL;
    size_t group_len = 0;
    for (size_t i = 0; i < t->count; i++) {
        const cg_setting_t *s = &t->settings[i];
        const void *field = (const char *)obj + s->offset;
        if (s->type == CG_SETTING_SECTION || !in_scope(s, scope))
            continue;
        const char *dot = strchr(s->key, '.');
        const char *leaf = s->key;
        int ind = indent;
        if (dot) {
            size_t gl = (size_t)(dot - s->key);
            if (!group || gl != group_len || strncmp(group, s->key, gl)) {
                char line[200];
                snprintf(line, sizeof(line), "%*s%.*s:", indent, "", (int)gl, s->key);
                out(arg, line);
                group = s->key;
                group_len = gl;
            }
            leaf = dot + 1;
            ind += 2;
        } else {
            group = NULL;
        }
        char value[700];
        const char *str = NULL;
        switch (s->type) {
        case CG_SETTING_INT:
        case CG_SETTING_SIZE:
        case CG_SETTING_DURATION:
            snprintf(value, sizeof(value), "%" PRId64, *(const int64_t *)field);
            break;
        case CG_SETTING_BOOL:
            snprintf(value, sizeof(value), "%s", *(const bool *)field ? "true" : "false");
            break;
        case CG_SETTING_STRING:
            str = s->size ? (const char *)field : *(char *const *)field;
            if (!str)
                continue;
            cg_settings_quote((s->flags & CG_SETTING_SECRET) ? "********" : str, value,
                              sizeof(value));
            break;
        case CG_SETTING_ENUM:
            if (s->size) {
                cg_settings_quote(field, value, sizeof(value));
            } else {
                for (size_t c = 0; s->choices[c].name; c++)
                    if (s->choices[c].value == *(const int *)field) {
                        cg_settings_quote(s->choices[c].name, value, sizeof(value));
                        break;
                    }
            }
            break;
        case CG_SETTING_CUSTOM:
            if (!s->show)
                continue;
            s->show(obj, value, sizeof(value));
            break;
        case CG_SETTING_MAP:
        case CG_SETTING_LIST: {
            const cg_kv_list_t *l = field;
            if (!l->n)
                continue;
            char line[800];
            snprintf(line, sizeof(line), "%*s%s:%s%s", ind, "", leaf, s->doc ? "    # " : "",
                     s->doc ? s->doc : "");
            out(arg, line);
            for (size_t j = 0; j < l->n; j++) {
                char q[700];
                cg_settings_quote(secret_name(l->items[j].key) ? "********" : l->items[j].value, q,
                                  sizeof(q));
                if (s->type == CG_SETTING_LIST) {
                    snprintf(line, sizeof(line), "%*s- %s", ind + 2, "", q);
                    out(arg, line);
                } else {
                    print_line(out, arg, ind + 2, l->items[j].key, q, NULL);
                }
            }
            continue;
        }
        default:
            continue;
        }
        print_line(out, arg, ind, leaf, value, s->doc);
    }
}
