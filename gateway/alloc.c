#include "alloc.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* No cg_log here: it may itself allocate; one write(2) and abort. */
_Noreturn static void out_of_memory(size_t n)
{
    char line[96];
    int len = snprintf(line, sizeof(line), "cometgate: out of memory allocating %zu bytes\n", n);
    if (len > 0 && write(STDERR_FILENO, line, (size_t)len) < 0) {
        /* nothing left to do */
    }
    abort();
}

void *cg_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *cg_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *cg_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *cg_strdup(const char *s)
{
    return cg_strndup(s, strlen(s));
}

char *cg_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = cg_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void cg_alloc_init(void)
{
    json_set_alloc_funcs(cg_malloc, free);
}
