/* libFuzzer target: arbitrary bytes as a YAML configuration file. */
#include "config.h"

#include <stdint.h>

static void report(void *arg, const char *line)
{
    (void)arg;
    (void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_config_t c;
    cg_config_defaults(&c);
    cg_config_load_text(&c, "fuzz.yaml", (const char *)data, size, report, NULL);
    cg_config_free(&c);
    return 0;
}
