#include "lws_alloc.h"
#include "alloc.h"

#include <libwebsockets.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries a small header saying whether lws's free must wait. */
typedef struct block {
    alignas(max_align_t) bool deferred;
} block_t;

static void **quarantine;
static size_t nquarantined, quarantine_cap;

static bool is_header_table(const char *reason)
{
    return reason && (!strcmp(reason, "ah struct") || !strcmp(reason, "ah data"));
}

static void *lws_allocator(void *ptr, size_t size, const char *reason)
{
    block_t *b = ptr ? (block_t *)ptr - 1 : NULL;
    if (size == 0) {
        if (!b)
            return NULL;
        if (!b->deferred) {
            free(b);
            return NULL;
        }
        if (nquarantined == quarantine_cap) {
            quarantine_cap = quarantine_cap ? quarantine_cap * 2 : 16;
            quarantine = cg_realloc(quarantine, quarantine_cap * sizeof(*quarantine));
        }
        quarantine[nquarantined++] = b;
        return NULL;
    }
    /* lws handles NULL itself (it closes the connection that asked) */
    block_t *nb = realloc(b, sizeof(*nb) + size);
    if (!nb)
        return NULL;
    if (!b)
        nb->deferred = is_header_table(reason);
    return nb + 1;
}

void cg_lws_alloc_install(void)
{
    lws_set_allocator(lws_allocator);
}

void cg_lws_alloc_release(void)
{
    for (size_t i = 0; i < nquarantined; i++)
        free(quarantine[i]);
    nquarantined = 0;
}
