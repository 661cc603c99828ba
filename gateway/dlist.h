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
    cg_dlink_t *first, *last;
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
    else
        l->last = n;
    l->first = n;
}

/* Adds after `pos` (NULL: at the front); a no-op when already on a list. Ordered lists (timers
 * by deadline) insert from the back, where a new deadline usually belongs. */
static inline void cg_dlist_insert_after(cg_dlist_t *l, cg_dlink_t *pos, cg_dlink_t *n)
{
    if (!pos) {
        cg_dlist_push(l, n);
        return;
    }
    if (n->linked)
        return;
    n->linked = true;
    n->prev = pos;
    n->next = pos->next;
    if (pos->next)
        pos->next->prev = n;
    else
        l->last = n;
    pos->next = n;
}

/* Adds at the back; a no-op when already on a list. */
static inline void cg_dlist_append(cg_dlist_t *l, cg_dlink_t *n)
{
    cg_dlist_insert_after(l, l->last, n);
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
    else
        l->last = n->prev;
    n->prev = n->next = NULL;
}

#endif
