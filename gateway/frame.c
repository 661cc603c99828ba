#include "frame.h"
#include "alloc.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct cg_frame {
    unsigned refs;
    size_t len; /* object length */
    char bytes[];
};

cg_frame_t *cg_frame_create(const char *json_object, size_t len)
{
    cg_frame_t *f = cg_malloc(sizeof(*f) + CG_FRAME_HEADROOM + len + 2);
    f->refs = 1;
    f->len = len;
    char *a = f->bytes + CG_FRAME_HEADROOM;
    a[0] = '[';
    memcpy(a + 1, json_object, len);
    a[len + 1] = ']';
    return f;
}

cg_frame_t *cg_frame_ref(cg_frame_t *f)
{
    CG_ASSERT(f->refs > 0);
    f->refs++;
    return f;
}

void cg_frame_release(cg_frame_t *f)
{
    if (!f)
        return;
    CG_ASSERT(f->refs > 0);
    if (--f->refs == 0)
        free(f);
}

unsigned cg_frame_refs(const cg_frame_t *f)
{
    return f->refs;
}

const char *cg_frame_object(const cg_frame_t *f)
{
    return f->bytes + CG_FRAME_HEADROOM + 1;
}

size_t cg_frame_object_len(const cg_frame_t *f)
{
    return f->len;
}

char *cg_frame_array(cg_frame_t *f)
{
    return f->bytes + CG_FRAME_HEADROOM;
}

size_t cg_frame_array_len(const cg_frame_t *f)
{
    return f->len + 2;
}
