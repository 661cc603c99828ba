/* Settings tables: the one mechanism every section of the configuration file is read with (the
 * redis `static_configs[]` / h2o configurator way). A module describes its keys in a table of
 * cg_setting_t {key, type, field offset, default, bounds, doc}; cg_settings_load() walks a YAML
 * mapping against it, fills the module's struct, and reports every problem as
 * "file:line: key: problem" without stopping at the first. The core (config.c) and each connector
 * section (connectors_config.c: kafka, mqtt, one route) have their own table; the same value types
 * mean the same thing everywhere:
 *
 *   INT       a plain integer                               max_sessions: 100000
 *   SIZE      bytes: an integer, or k/m/g (x1024)            max_body: 1m
 *   DURATION  an integer in the key's unit (ms; s with CG_SETTING_SECONDS), or a string with a
 *             ms/s/m/h suffix                                timeout_ms: 30s, ws_ping_s: 1m
 *   BOOL      true/false (yes/no)
 *   STRING    a char[size] field, or an owned char * when size is 0
 *   ENUM      one of `choices`: their value into an int, or the name into char[size]
 *   MAP       a mapping of scalars (cg_kv_list_t); each entry through `check`
 *   LIST      a sequence of scalars (cg_kv_list_t, value = key)
 *   CUSTOM    parsed by `check` alone
 *   SECTION   a subtree another module reads (the core table's kafka, mqtt, routes)
 *
 * Single-threaded: used while the configuration is loaded, before any thread starts. */
#ifndef CG_SETTINGS_H
#define CG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yaml_tree.h"

typedef void (*cg_config_report_fn)(void *arg, const char *line);

/* One load: where problems go and how many there were. */
typedef struct cg_settings {
    const char *file; /* named in every problem */
    cg_config_report_fn report;
    void *arg;
    int errors;
} cg_settings_t;

typedef enum {
    CG_SETTING_INT,
    CG_SETTING_SIZE,
    CG_SETTING_DURATION,
    CG_SETTING_BOOL,
    CG_SETTING_STRING,
    CG_SETTING_ENUM,
    CG_SETTING_MAP,
    CG_SETTING_LIST,
    CG_SETTING_CUSTOM,
    CG_SETTING_SECTION,
} cg_setting_type_t;

#define CG_SETTING_SECONDS (1u << 0)  /* DURATION: the field holds seconds, not milliseconds */
#define CG_SETTING_NONEMPTY (1u << 1) /* STRING: "" is refused */
#define CG_SETTING_REQUIRED (1u << 2) /* reported when the mapping lacks it */
#define CG_SETTING_SECRET (1u << 3)   /* printed as ******** */
#define CG_SETTING_LIST_OK (1u << 4)  /* MAP: a list of scalars is taken as x: x for each */

typedef struct cg_setting_choice {
    const char *name;
    int value;
} cg_setting_choice_t;

/* A MAP or LIST value: entries in file order, names unique. */
typedef struct cg_kv {
    char *key;
    char *value;
} cg_kv_t;
typedef struct cg_kv_list {
    cg_kv_t *items;
    size_t n;
} cg_kv_list_t;

typedef struct cg_setting cg_setting_t;

/* What a check sees: the setting, the dotted key as reported, the name (a MAP entry's own key,
 * else the setting's leaf), and the YAML value. */
typedef struct cg_setting_value {
    const cg_setting_t *s;
    const char *key;
    const char *name;
    const cg_yaml_node_t *v;
} cg_setting_value_t;

/* Runs after the type's own parse succeeded (for CUSTOM: instead of it; for MAP/LIST: once per
 * entry, before it is kept). Reports its own problems; returns 0 to keep the value, -1 to refuse.
 */
typedef int (*cg_setting_check_fn)(cg_settings_t *st, const cg_setting_value_t *val, void *obj);
/* CUSTOM printing: writes the value as YAML text into buf. */
typedef void (*cg_setting_show_fn)(const void *obj, char *buf, size_t len);

struct cg_setting {
    const char *key; /* "timeout_ms"; dotted for a group: "bayeux.timeout_ms" */
    cg_setting_type_t type;
    size_t offset;                      /* of the field in the struct the table fills */
    size_t size;                        /* STRING/ENUM: char[size] field (0: char * / int) */
    int64_t def, min, max;              /* INT, SIZE, DURATION (in the field's unit), BOOL (def) */
    const char *sdef;                   /* STRING/ENUM default */
    const cg_setting_choice_t *choices; /* ENUM, ended by {NULL} */
    unsigned flags;                     /* CG_SETTING_* */
    unsigned scope;                     /* which variants of the section may hold it; 0: all */
    cg_setting_check_fn check;
    cg_setting_show_fn show;
    const char *doc; /* one line */
};

/* Table rows: T is the struct the table fills, f its field; optional designators follow
 * (.doc = "...", .check = fn, .scope = ..., .flags = ...). */
#define CG_SET_NUM(ty, T, k, f, d, lo, hi, ...)                                                    \
    {                                                                                              \
        .key = k, .type = ty, .offset = offsetof(T, f), .def = d, .min = lo, .max = hi,            \
        __VA_ARGS__                                                                                \
    }
#define CG_SET_INT(T, k, f, d, lo, hi, ...)                                                        \
    CG_SET_NUM(CG_SETTING_INT, T, k, f, d, lo, hi, __VA_ARGS__)
#define CG_SET_SIZE(T, k, f, d, lo, hi, ...)                                                       \
    CG_SET_NUM(CG_SETTING_SIZE, T, k, f, d, lo, hi, __VA_ARGS__)
#define CG_SET_MS(T, k, f, d, lo, hi, ...)                                                         \
    CG_SET_NUM(CG_SETTING_DURATION, T, k, f, d, lo, hi, __VA_ARGS__)
#define CG_SET_SECONDS(T, k, f, d, lo, hi, ...)                                                    \
    CG_SET_NUM(CG_SETTING_DURATION, T, k, f, d, lo, hi, .flags = CG_SETTING_SECONDS, __VA_ARGS__)
#define CG_SET_BOOL(T, k, f, d, ...)                                                               \
    {                                                                                              \
        .key = k, .type = CG_SETTING_BOOL, .offset = offsetof(T, f), .def = d, __VA_ARGS__         \
    }
/* A char[] field (STRBUF, ENUMBUF) or a char * / int field (STR, ENUM). */
#define CG_SET_STRBUF(T, k, f, d, ...)                                                             \
    {                                                                                              \
        .key = k, .type = CG_SETTING_STRING, .offset = offsetof(T, f),                             \
        .size = sizeof(((T *)0)->f), .sdef = d, __VA_ARGS__                                        \
    }
#define CG_SET_STR(T, k, f, ...)                                                                   \
    {                                                                                              \
        .key = k, .type = CG_SETTING_STRING, .offset = offsetof(T, f), __VA_ARGS__                 \
    }
#define CG_SET_ENUMBUF(T, k, f, d, ch, ...)                                                        \
    {                                                                                              \
        .key = k, .type = CG_SETTING_ENUM, .offset = offsetof(T, f), .size = sizeof(((T *)0)->f),  \
        .sdef = d, .choices = ch, __VA_ARGS__                                                      \
    }
#define CG_SET_ENUM(T, k, f, d, ch, ...)                                                           \
    {                                                                                              \
        .key = k, .type = CG_SETTING_ENUM, .offset = offsetof(T, f), .sdef = d, .choices = ch,     \
        __VA_ARGS__                                                                                \
    }
#define CG_SET_MAP(T, k, f, ...)                                                                   \
    {                                                                                              \
        .key = k, .type = CG_SETTING_MAP, .offset = offsetof(T, f), __VA_ARGS__                    \
    }
#define CG_SET_CUSTOM(T, k, f, fn, ...)                                                            \
    {                                                                                              \
        .key = k, .type = CG_SETTING_CUSTOM, .offset = offsetof(T, f), .check = fn, __VA_ARGS__    \
    }
#define CG_SET_SECTION(k, ...)                                                                     \
    {                                                                                              \
        .key = k, .type = CG_SETTING_SECTION, __VA_ARGS__                                          \
    }

/* Old names, accepted with a warning for one release. */
typedef struct cg_setting_alias {
    const char *old, *now;
} cg_setting_alias_t;

typedef struct cg_settings_table {
    const char *name; /* where it lives in the file: "" (top level), "kafka", "mqtt", "routes[]" */
    const cg_setting_t *settings;
    size_t count;
    const cg_setting_alias_t *aliases; /* ended by {NULL}; may be NULL */
    const char *dotted_hint; /* said about an unknown key with a dot in it (a client property) */
} cg_settings_table_t;

/* One mapping loaded against a table. Keys of a setting whose scope does not include `scope` are
 * refused with `elsewhere` ("not allowed in an inbound route ..."). */
typedef struct cg_settings_section {
    const cg_yaml_node_t *map;
    const char *prefix; /* put before each key in problems: "", "kafka.", "routes[2]." */
    unsigned scope;
    const char *elsewhere;
    void *obj;
} cg_settings_section_t;

void cg_settings_problem(cg_settings_t *st, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The scalar text of v, or NULL after reporting "expected a single value". */
const char *cg_settings_scalar(cg_settings_t *st, const cg_yaml_node_t *v, const char *key);

/* Fills every setting of the table (of `scope`, 0: all) with its default. */
void cg_settings_defaults(const cg_settings_table_t *t, unsigned scope, void *obj);
/* Loads sec->map over sec->obj. Problems are counted in st->errors. */
void cg_settings_load(cg_settings_t *st, const cg_settings_table_t *t,
                      const cg_settings_section_t *sec);
/* Frees what loading allocated (owned strings, maps, lists). */
void cg_settings_free(const cg_settings_table_t *t, void *obj);
/* Prints each setting as YAML (`indent` spaces, groups as nested mappings), doc lines as
 * comments, secrets masked. Settings of other scopes, SECTIONs and unset strings are left out. */
void cg_settings_print(const cg_settings_table_t *t, unsigned scope, const void *obj, int indent,
                       void (*out)(void *arg, const char *line), void *arg);

/* `s` as a YAML double-quoted scalar into buf (cut to fit). */
void cg_settings_quote(const char *s, char *buf, size_t len);

/* Value parsers, shared with code that reads values outside a table (0, or -1). */
int cg_settings_parse_size(const char *s, int64_t *out);
int cg_settings_parse_duration(const char *s, bool seconds, int64_t *out);

/* The string forms in schemas/config.schema.json (beside an integer in the field's unit). */
#define CG_SETTINGS_SIZE_PATTERN "^[0-9]+[kKmMgG]$"
#define CG_SETTINGS_DURATION_PATTERN "^[0-9]+(ms|s|m|h)$"
#define CG_SETTINGS_SECONDS_PATTERN "^([0-9]+(s|m|h)|[0-9]*000ms)$"

/* The JSON Schema name of a type ("integer", "size", "duration", "boolean", "string", "enum",
 * "object", "array"), for the test that checks a table against schemas/config.schema.json. */
const char *cg_settings_type_name(cg_setting_type_t type);

#endif
