/* An intrusive doubly-linked list: the link lives inside the element (one allocation, O(1)
 * removal given the element). A zeroed link is "not on a list", so elements from calloc or
 * memset need no initialisation. Not thread-safe. */
#ifndef CG_DLIST_H
#define CG_DLIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cg_dlink {
    struct cg_dlink *prev, *next;
    bool linked;
} cg_dlink_t;

typedef struct cg_dlist {
    cg_dlink_t *first;
} cg_dlist_t;

#define cg_dlist_entry(link, type, member) ((type *)((char *)(link)-offsetof(type, member)))

static inline bool cg_dlink_linked(const cg_dlink_t *n)
{
    return n->linked;
}

/* Adds at the front; a no-op when already on a list. */
static inline void cg_dlist_push(cg_dlist_t *l, cg_dlink_t *n)
{
    if (n->linked)
        return;
    n->linked = true;
    n->prev = NULL;
    n->next = l->first;
    if (l->first)
        l->first->prev = n;
    l->first = n;
}

/* A no-op when not on a list. */
static inline void cg_dlist_remove(cg_dlist_t *l, cg_dlink_t *n)
{
    if (!n->linked)
        return;
    n->linked = false;
    if (n->prev)
        n->prev->next = n->next;
    else
        l->first = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

#endif
