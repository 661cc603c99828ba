#include "channel.h"
#include "alloc.h"
#include "log.h"
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct channel {
    cg_subscription_t **subs;
    size_t nsubs, cap;
    size_t namelen;
    char name[];
} channel_t;

struct cg_subscription {
    channel_t *channel;
    void *subscriber;
    size_t slot; /* index in channel->subs, for O(1) removal */
};

struct cg_channel_index {
    cg_strmap_t *channels;
    size_t nsubs;
};

static bool segment_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    /* Bayeux "mark" characters plus a few CometD accepts; never '"' or '\\', so names can be
     * copied into JSON without escaping. */
    return strchr("-_.!~()$@:=+%,", c) != NULL && c != 0;
}

int cg_channel_validate(const char *name, size_t len, size_t max_len, cg_channel_kind_t *kind)
{
    if (len < 2 || len > max_len || name[0] != '/' || name[len - 1] == '/')
        return -1;
    cg_channel_kind_t k = CG_CHANNEL_PLAIN;
    size_t seg_start = 1;
    for (size_t i = 1; i <= len; i++) {
        if (i < len && name[i] != '/') {
            unsigned char c = (unsigned char)name[i];
            if (c == '*')
                continue; /* checked as a whole segment below */
            if (!segment_char(c))
                return -1;
            continue;
        }
        size_t seglen = i - seg_start;
        if (seglen == 0)
            return -1;
        const char *seg = name + seg_start;
        bool has_star = memchr(seg, '*', seglen) != NULL;
        if (has_star) {
            if (i != len) /* wildcards only as the last segment */
                return -1;
            if (seglen == 1)
                k = CG_CHANNEL_WILD;
            else if (seglen == 2 && seg[0] == '*' && seg[1] == '*')
                k = CG_CHANNEL_DEEP;
            else
                return -1;
        }
        seg_start = i + 1;
    }
    if (kind)
        *kind = k;
    return 0;
}

bool cg_channel_is_meta(const char *name)
{
    return !strncmp(name, "/meta/", 6) || !strcmp(name, "/meta");
}

bool cg_channel_is_service(const char *name)
{
    return !strncmp(name, "/service/", 9) || !strcmp(name, "/service");
}

bool cg_channel_matches(const char *pattern, const char *name)
{
    size_t plen = strlen(pattern);
    if (plen >= 3 && !strcmp(pattern + plen - 3, "/**")) {
        size_t pre = plen - 2; /* keep the slash */
        return strlen(name) > pre && !strncmp(name, pattern, pre);
    }
    if (plen >= 2 && !strcmp(pattern + plen - 2, "/*")) {
        size_t pre = plen - 1;
        return strlen(name) > pre && !strncmp(name, pattern, pre) && !strchr(name + pre, '/');
    }
    return !strcmp(pattern, name);
}

cg_channel_index_t *cg_channel_index_create(void)
{
    cg_channel_index_t *idx = cg_calloc(1, sizeof(*idx));
    idx->channels = cg_strmap_create();
    return idx;
}

void cg_channel_index_destroy(cg_channel_index_t *idx)
{
    if (!idx)
        return;
    CG_ASSERT(idx->nsubs == 0);
    cg_strmap_destroy(idx->channels);
    free(idx);
}

cg_subscription_t *cg_channel_subscribe(cg_channel_index_t *idx, const char *name, void *subscriber)
{
    size_t len = strlen(name);
    channel_t *ch = cg_strmap_get(idx->channels, name, len);
    if (!ch) {
        ch = cg_calloc(1, sizeof(*ch) + len + 1);
        memcpy(ch->name, name, len + 1);
        ch->namelen = len;
        int put = cg_strmap_put(idx->channels, ch->name, len, ch);
        CG_ASSERT(put == 0); /* the name was not found above */
    }
    if (ch->nsubs == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->subs = cg_realloc(ch->subs, ch->cap * sizeof(*ch->subs));
    }
    cg_subscription_t *sub = cg_malloc(sizeof(*sub));
    sub->channel = ch;
    sub->subscriber = subscriber;
    sub->slot = ch->nsubs;
    ch->subs[ch->nsubs++] = sub;
    idx->nsubs++;
    return sub;
}

void cg_channel_unsubscribe(cg_channel_index_t *idx, cg_subscription_t *sub)
{
    channel_t *ch = sub->channel;
    CG_ASSERT(sub->slot < ch->nsubs && ch->subs[sub->slot] == sub);
    cg_subscription_t *last = ch->subs[--ch->nsubs];
    ch->subs[sub->slot] = last;
    last->slot = sub->slot;
    free(sub);
    idx->nsubs--;
    if (ch->nsubs == 0) {
        cg_strmap_remove(idx->channels, ch->name, ch->namelen);
        free(ch->subs);
        free(ch);
    }
}

const char *cg_subscription_name(const cg_subscription_t *sub)
{
    return sub->channel->name;
}

void *cg_subscription_subscriber(const cg_subscription_t *sub)
{
    return sub->subscriber;
}

static size_t deliver_to(const cg_channel_index_t *idx, const char *pattern, size_t len,
                         cg_channel_deliver_fn deliver, void *arg)
{
    channel_t *ch = cg_strmap_get(idx->channels, pattern, len);
    if (!ch)
        return 0;
    for (size_t i = 0; i < ch->nsubs; i++)
        deliver(ch->subs[i]->subscriber, arg);
    return ch->nsubs;
}

size_t cg_channel_publish(cg_channel_index_t *idx, const char *name, cg_channel_deliver_fn deliver,
                          void *arg)
{
    size_t len = strlen(name);
    size_t n = deliver_to(idx, name, len, deliver, arg);
    char stack[512];
    char *pat = len + 3 <= sizeof(stack) ? stack : cg_malloc(len + 3);
    memcpy(pat, name, len);
    // Walk the slashes from the last one up: "/a/b/c" tries /a/b/*, /a/b/**, /a/**, /**.
    bool last = true;
    for (size_t i = len; i-- > 0;) {
        if (name[i] != '/')
            continue;
        if (last) {
            pat[i + 1] = '*';
            n += deliver_to(idx, pat, i + 2, deliver, arg);
            last = false;
        }
        pat[i + 1] = '*';
        pat[i + 2] = '*';
        n += deliver_to(idx, pat, i + 3, deliver, arg);
    }
    if (pat != stack)
        free(pat);
    return n;
}

size_t cg_channel_index_channels(const cg_channel_index_t *idx)
{
    return cg_strmap_count(idx->channels);
}

size_t cg_channel_index_subscriptions(const cg_channel_index_t *idx)
{
    return idx->nsubs;
}
