/* The one out-of-memory policy: allocation failure is not an error a caller can handle, so these
 * never return NULL: they log one line naming the size and abort (as redis' zmalloc and h2o's
 * h2o_mem_alloc do). Errors that are real (a size over a limit, bad input) stay errors in their
 * callers. Thread-safe. */
#ifndef CG_ALLOC_H
#define CG_ALLOC_H

#include <stddef.h>

void *cg_malloc(size_t n);
void *cg_calloc(size_t count, size_t size);
void *cg_realloc(void *p, size_t n);
char *cg_strdup(const char *s);
char *cg_strndup(const char *s, size_t n);
/* Makes the libraries that allocate for us follow the same policy (jansson). Once, at start. */
void cg_alloc_init(void);

#endif
