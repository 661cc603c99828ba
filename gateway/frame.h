/* An encoded Bayeux message: immutable bytes shared by reference among every session queue that
 * delivers it (serialize once, share by reference).
 *
 * Memory layout: [LWS_PRE headroom]['[']{ ...message object... }[']']
 * so one message can be written as a one-element WebSocket frame with no copy, and batches are
 * assembled by copying the object bytes.
 *
 * Thread: frames are created, referenced and released on the lws service thread only; the refcount
 * is not atomic. */
#ifndef CG_FRAME_H
#define CG_FRAME_H

#include <stddef.h>

typedef struct cg_frame cg_frame_t;

/* Copies `len` bytes of a JSON object into a new frame with one reference. Never NULL. */
cg_frame_t *cg_frame_create(const char *json_object, size_t len);
cg_frame_t *cg_frame_ref(cg_frame_t *f);
void cg_frame_release(cg_frame_t *f);
unsigned cg_frame_refs(const cg_frame_t *f);

/* The message object bytes. */
const char *cg_frame_object(const cg_frame_t *f);
size_t cg_frame_object_len(const cg_frame_t *f);

/* "[object]": a one-element array with CG_FRAME_HEADROOM writable bytes before it.
 * The headroom is scratch space for lws_write and may be overwritten by the service thread. */
char *cg_frame_array(cg_frame_t *f);
size_t cg_frame_array_len(const cg_frame_t *f);

#define CG_FRAME_HEADROOM 16 /* >= LWS_PRE; checked where lws is included */

#endif
