/* Bayeux channel names and the subscription index.
 *
 * The index maps a channel name or pattern (`/a/b`, `/a/` + `*`, `/a/` + `**`) to its
 * subscriptions. A publish looks up the exact name and each pattern that could match it (one hash
 * lookup per level), so its cost does not depend on how many sessions exist. Thread: lws service
 * thread only. */
#ifndef CG_CHANNEL_H
#define CG_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CG_CHANNEL_PLAIN = 0, /* /a/b */
    CG_CHANNEL_WILD,      // /a/*  : one level below /a
    CG_CHANNEL_DEEP,      // /a/** : any depth below /a
} cg_channel_kind_t;

/* 0 when `name` (len bytes) is a valid channel name or pattern, -1 otherwise. */
int cg_channel_validate(const char *name, size_t len, size_t max_len, cg_channel_kind_t *kind);
bool cg_channel_is_meta(const char *name);
bool cg_channel_is_service(const char *name);
/* Does plain channel `name` match `pattern` (plain or wildcard)? */
bool cg_channel_matches(const char *pattern, const char *name);

typedef struct cg_channel_index cg_channel_index_t;
typedef struct cg_subscription cg_subscription_t;

cg_channel_index_t *cg_channel_index_create(void);
/* Every subscription must have been removed. */
void cg_channel_index_destroy(cg_channel_index_t *idx);

/* `name` must be valid (cg_channel_validate). Never NULL (out of memory aborts). */
cg_subscription_t *cg_channel_subscribe(cg_channel_index_t *idx, const char *name,
                                        void *subscriber);
void cg_channel_unsubscribe(cg_channel_index_t *idx, cg_subscription_t *sub);
const char *cg_subscription_name(const cg_subscription_t *sub);
void *cg_subscription_subscriber(const cg_subscription_t *sub);

typedef void (*cg_channel_deliver_fn)(void *subscriber, void *arg);
/* Calls `deliver` once per matching subscription (a subscriber with several matching patterns
 * is called once per pattern: it deduplicates itself). Returns the number of calls.
 * `deliver` may not subscribe or unsubscribe. */
size_t cg_channel_publish(cg_channel_index_t *idx, const char *name, cg_channel_deliver_fn deliver,
                          void *arg);

size_t cg_channel_index_channels(const cg_channel_index_t *idx);
size_t cg_channel_index_subscriptions(const cg_channel_index_t *idx);

#endif
