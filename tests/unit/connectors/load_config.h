/* For the connector unit tests: loads a whole configuration text (core and connector sections)
 * the way main.c does; problems go to `report` (may be NULL). Returns the number of problems. */
#ifndef CG_TEST_LOAD_CONFIG_H
#define CG_TEST_LOAD_CONFIG_H

#include <string.h>

#include "config.h"
#include "connectors_config.h"

static inline int cg_test_load_config(const char *text, cg_connectors_config_t **out,
                                      cg_config_report_fn report)
{
    static cg_config_t cfg;
    *out = NULL;
    cg_config_defaults(&cfg);
    int e = cg_config_load_text(&cfg, "t.yaml", text, strlen(text), report, NULL);
    if (!e)
        e = cg_connectors_config_load(&cfg, out, report, NULL);
    cg_config_free(&cfg);
    return e;
}

#endif
