/* The protocol engine driven directly, with a fake transport conn. */
#include "../cg_test.h"
#include "bayeux.h"
#include "session_priv.h"

#include <jansson.h>
#include <stdlib.h>

typedef struct fake_conn {
    cg_conn_t conn;
    int wakes;
} fake_conn_t;

static void fake_wake(cg_conn_t *c)
{
    ((fake_conn_t *)c)->wakes++;
}

static const cg_conn_ops_t fake_ops = {.wake = fake_wake};
static cg_config_t cfg;

static void conn_init(fake_conn_t *f, cg_transport_t t)
{
    memset(f, 0, sizeof(*f));
    cg_conn_init(&f->conn, &fake_ops, t);
}

/* Sends body, returns the replies as a parsed JSON array (caller decrefs). */
static json_t *send(cg_bayeux_t *b, fake_conn_t *f, const char *body, int *rc)
{
    cg_request_info_t info = {.transport = f->conn.transport, .peer = "test"};
    cg_buf_reset(&f->conn.replies);
    int r = cg_bayeux_handle(b, &f->conn, &info, body, strlen(body));
    if (rc)
        *rc = r;
    if (f->conn.connect == CG_CONNECT_RELEASED)
        cg_bayeux_take_connect_reply(b, &f->conn, &f->conn.replies);
    cg_buf_t arr;
    cg_buf_init(&arr, 0);
    cg_buf_append(&arr, "[", 1);
    cg_buf_append(&arr, cg_buf_data(&f->conn.replies), f->conn.replies.len);
    cg_buf_append(&arr, "]", 1);
    json_error_t e;
    json_t *j = json_loadb(cg_buf_data(&arr), arr.len, 0, &e);
    if (!j)
        fprintf(stderr, "bad reply JSON: %.*s\n", (int)arr.len, cg_buf_data(&arr));
    cg_buf_free(&arr);
    return j;
}

static const char *str(json_t *a, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(a, i), key));
}

static int ok(json_t *a, size_t i)
{
    return json_is_true(json_object_get(json_array_get(a, i), "successful"));
}

static char *handshake(cg_bayeux_t *b, fake_conn_t *f)
{
    json_t *r = send(b, f,
                     "[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
                     "\"supportedConnectionTypes\":[\"websocket\",\"long-polling\"],\"id\":\"1\"}]",
                     NULL);
    char *id = strdup(str(r, 0, "clientId") ? str(r, 0, "clientId") : "");
    json_decref(r);
    return id;
}

static void test_handshake(void)
{
    cg_bayeux_t *b = cg_bayeux_create(&cfg);
    fake_conn_t f;
    conn_init(&f, CG_TRANSPORT_LONG_POLLING);
    json_t *r = send(b, &f,
                     "{\"channel\":\"/meta/handshake\",\"version\":\"1.0\",\"id\":7,"
                     "\"supportedConnectionTypes\":[\"long-polling\",\"iframe\"],"
                     "\"ext\":{\"ack\":true,\"app\":{\"x\":1}}}",
                     NULL);
    CHECK(json_array_size(r) == 1);
    CHECK(ok(r, 0));
    CHECK(str(r, 0, "clientId") && strlen(str(r, 0, "clientId")) == CG_SESSION_ID_LEN);
    json_t *m = json_array_get(r, 0);
    CHECK(json_integer_value(json_object_get(m, "id")) == 7);
    json_t *types = json_object_get(m, "supportedConnectionTypes");
    CHECK(json_array_size(types) == 1);
    CHECK_STR(json_string_value(json_array_get(types, 0)), "long-polling");
    /* ext is echoed without "ack" (not implemented: the client must not think it is) */
    json_t *ext = json_object_get(m, "ext");
    CHECK(ext && !json_object_get(ext, "ack") && json_object_get(ext, "app"));
    CHECK(json_integer_value(json_object_get(json_object_get(m, "advice"), "timeout")) == 30000);
    json_decref(r);

    r = send(b, &f, "[{\"channel\":\"/meta/handshake\",\"supportedConnectionTypes\":[\"iframe\"]}]",
             NULL);
    CHECK(!ok(r, 0));
    CHECK(!strncmp(str(r, 0, "error"), "301:", 4));
    json_decref(r);
    cg_conn_free(&f.conn);
    cg_bayeux_destroy(b);
}

static void test_errors(void)
{
    cg_bayeux_t *b = cg_bayeux_create(&cfg);
    fake_conn_t f;
    conn_init(&f, CG_TRANSPORT_LONG_POLLING);
    int rc;
    json_t *r = send(b, &f, "[{\"channel\":", &rc);
    CHECK(rc == CG_BAYEUX_EJSON && !ok(r, 0));
    CHECK(!strncmp(str(r, 0, "error"), "400:", 4));
    json_decref(r);

    r = send(b, &f, "[1, {\"id\":\"x\"}, {\"channel\":\"/meta/connect\",\"clientId\":\"nope\"}]",
             &rc);
    CHECK(rc == CG_BAYEUX_OK && json_array_size(r) == 3);
    CHECK(!strncmp(str(r, 0, "error"), "400:", 4));
    CHECK(!strncmp(str(r, 1, "error"), "400:", 4));
    CHECK(!strncmp(str(r, 2, "error"), "402:", 4));
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(r, 2), "advice"), "reconnect")),
              "handshake");
    json_decref(r);

    char *id = handshake(b, &f);
    char body[512];
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":\"/meta/x\"},"
             "{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":\"/a//b\"},"
             "{\"channel\":\"/a/*\",\"clientId\":\"%s\",\"data\":1},"
             "{\"channel\":\"/meta/nope\",\"clientId\":\"%s\"},"
             "{\"channel\":\"/a\",\"clientId\":\"%s\"}]",
             id, id, id, id, id);
    r = send(b, &f, body, &rc);
    CHECK(json_array_size(r) == 5);
    CHECK(!strncmp(str(r, 0, "error"), "403:", 4));
    CHECK(!strncmp(str(r, 1, "error"), "405:", 4));
    CHECK(!strncmp(str(r, 2, "error"), "405:", 4));
    CHECK(!strncmp(str(r, 3, "error"), "403:", 4));
    CHECK(!strncmp(str(r, 4, "error"), "400:", 4)); /* publish without data */
    json_decref(r);

    /* batch limit */
    cg_buf_t big;
    cg_buf_init(&big, 0);
    cg_buf_append(&big, "[", 1);
    for (int i = 0; i <= cfg.limits.max_batch; i++)
        cg_buf_append_str(&big, i ? ",{}" : "{}");
    cg_buf_append(&big, "]", 2);
    r = send(b, &f, cg_buf_data(&big), &rc);
    CHECK(rc == CG_BAYEUX_EBATCH);
    json_decref(r);
    cg_buf_free(&big);
    free(id);
    cg_conn_free(&f.conn);
    cg_bayeux_destroy(b);
}

static void test_subscribe_publish(void)
{
    cg_bayeux_t *b = cg_bayeux_create(&cfg);
    fake_conn_t a, c;
    conn_init(&a, CG_TRANSPORT_WEBSOCKET);
    conn_init(&c, CG_TRANSPORT_WEBSOCKET);
    char *ida = handshake(b, &a), *idc = handshake(b, &c);
    char body[512];
    /* a subscribes twice by overlapping patterns: it must get each message once */
    snprintf(
        body, sizeof(body),
        "[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\",\"connectionType\":\"websocket\"},"
        "{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
        "\"subscription\":[\"/a/*\",\"/a/**\",\"/a/b\"]}]",
        ida, ida);
    json_t *r = send(b, &a, body, NULL);
    CHECK(json_array_size(r) == 2);
    CHECK(ok(r, 0) && ok(r, 1));
    json_decref(r);
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/a/b\",\"clientId\":\"%s\",\"data\":{\"n\":1},\"id\":\"m1\"}]", idc);
    r = send(b, &c, body, NULL);
    CHECK(ok(r, 0));
    CHECK_STR(str(r, 0, "id"), "m1");
    json_decref(r);
    cg_session_t *sa = a.conn.session;
    CHECK(sa && sa->count == 1);
    CHECK(a.wakes >= 1);
    cg_frame_t *fr = sa ? cg_session_dequeue(sa) : NULL;
    /* The whole frame, not a prefix of the expected text: an empty or cut frame must fail. */
    const char *want = "{\"channel\":\"/a/b\",\"data\":{\"n\":1},\"id\":\"m1\"}";
    CHECK(fr && cg_frame_object_len(fr) == strlen(want) &&
          !memcmp(cg_frame_object(fr), want, strlen(want)));
    cg_frame_release(fr);

    /* /service is answered but never broadcast */
    snprintf(
        body, sizeof(body),
        "[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":\"/service/x\"},"
        "{\"channel\":\"/service/x\",\"clientId\":\"%s\",\"data\":1}]",
        ida, ida);
    r = send(b, &a, body, NULL);
    CHECK(ok(r, 0) && ok(r, 1));
    CHECK(sa->count == 0);
    json_decref(r);

    /* unsubscribe the two wildcards: /a/b/c no longer delivered, /a/b still is */
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/meta/unsubscribe\",\"clientId\":\"%s\","
             "\"subscription\":[\"/a/*\",\"/a/**\"]}]",
             ida);
    json_decref(send(b, &a, body, NULL));
    cg_bayeux_publish_data(b, "/a/b/c", "1", 1);
    CHECK(sa->count == 0);
    cg_bayeux_publish_data(b, "/a/b", "2", 1);
    CHECK(sa->count == 1);
    cg_bayeux_publish_data(b, "/a/*", "3", 1); /* invalid from the bus: dropped, counted */
    cg_bayeux_stats_t st;
    cg_bayeux_get_stats(b, &st);
    CHECK(st.bus_rejected == 1);
    CHECK(st.sessions == 2 && st.subscriptions == 1);

    /* disconnect: later messages get 402 */
    snprintf(body, sizeof(body), "[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\"}]", ida);
    r = send(b, &a, body, NULL);
    CHECK(ok(r, 0));
    json_decref(r);
    r = send(b, &a, body, NULL);
    CHECK(!strncmp(str(r, 0, "error"), "402:", 4));
    json_decref(r);
    free(ida);
    free(idc);
    cg_bayeux_conn_closed(b, &a.conn);
    cg_bayeux_conn_closed(b, &c.conn);
    cg_conn_free(&a.conn);
    cg_conn_free(&c.conn);
    cg_bayeux_destroy(b);
}

static void test_connect_hold_and_overflow(void)
{
    cg_bayeux_t *b = cg_bayeux_create(&cfg);
    fake_conn_t h, p;
    conn_init(&h, CG_TRANSPORT_LONG_POLLING);
    char *id = handshake(b, &h);
    char body[512];
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\",\"connectionType\":"
             "\"long-polling\"},{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
             "\"subscription\":\"/q\"}]",
             id, id);
    json_t *r = send(b, &h, body, NULL); /* the first connect is answered at once */
    CHECK(json_array_size(r) == 2);
    json_decref(r);
    /* the second is held */
    conn_init(&p, CG_TRANSPORT_LONG_POLLING);
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\",\"connectionType\":"
             "\"long-polling\",\"id\":\"c2\"}]",
             id);
    cg_request_info_t info = {.transport = CG_TRANSPORT_LONG_POLLING};
    cg_bayeux_handle(b, &p.conn, &info, body, strlen(body));
    CHECK(p.conn.connect == CG_CONNECT_HELD);
    /* a message wakes it; the transport releases it with the message */
    cg_bayeux_publish_data(b, "/q", "1", 1);
    CHECK(p.wakes == 1);
    cg_bayeux_release_for_messages(b, &p.conn);
    CHECK(p.conn.connect == CG_CONNECT_RELEASED && p.conn.nframes == 1);
    cg_buf_t out;
    cg_buf_init(&out, 0);
    cg_bayeux_take_connect_reply(b, &p.conn, &out);
    CHECK(strstr(cg_buf_data(&out), "\"id\":\"c2\"") != NULL);
    cg_conn_clear_frames(&p.conn);

    /* nobody polls: the queue overflows at limits.queue_messages, the session ends */
    for (int i = 0; i <= cfg.limits.queue_messages; i++)
        cg_bayeux_publish_data(b, "/q", "1", 1);
    cg_bayeux_stats_t st;
    cg_bayeux_get_stats(b, &st);
    CHECK(st.sessions == 0 && st.sessions_overflowed == 1);
    CHECK(st.subscriptions == 0);
    r = send(b, &p, body, NULL);
    CHECK(!strncmp(str(r, 0, "error"), "402:", 4));
    json_decref(r);
    cg_buf_free(&out);
    free(id);
    cg_conn_free(&h.conn);
    cg_conn_free(&p.conn);
    cg_bayeux_destroy(b);
}

static int claimed;
static cg_pending_t *last_pending;
static int outbound(void *arg, const char *channel, const char *data, size_t len, cg_pending_t *p)
{
    (void)arg, (void)data, (void)len;
    if (strncmp(channel, "/chat/", 6))
        return 0;
    claimed++;
    last_pending = p;
    return 1;
}

static void test_outbound(void)
{
    cg_bayeux_t *b = cg_bayeux_create(&cfg);
    cg_bayeux_set_outbound(b, outbound, NULL, 5000);
    fake_conn_t f;
    conn_init(&f, CG_TRANSPORT_LONG_POLLING);
    char *id = handshake(b, &f);
    char body[256];
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/chat/1\",\"clientId\":\"%s\",\"data\":\"hi\",\"id\":\"p1\"}]", id);
    json_t *r = send(b, &f, body, NULL);
    CHECK(json_array_size(r) == 0); /* no reply until the broker acks */
    CHECK(claimed == 1 && f.conn.pending == 1);
    json_decref(r);
    int wakes = f.wakes;
    cg_buf_reset(&f.conn.replies);
    cg_bayeux_pending_complete(b, last_pending, false, "503::broker down");
    CHECK(f.conn.pending == 0 && f.wakes == wakes + 1);
    CHECK(strstr(cg_buf_data(&f.conn.replies), "503::broker down") != NULL);
    CHECK(strstr(cg_buf_data(&f.conn.replies), "\"id\":\"p1\"") != NULL);
    free(id);
    cg_conn_free(&f.conn);
    cg_bayeux_destroy(b);
}

int main(void)
{
    cg_config_defaults(&cfg);
    cfg.limits.queue_messages = 50;
    RUN(test_handshake);
    RUN(test_errors);
    RUN(test_subscribe_publish);
    RUN(test_connect_hold_and_overflow);
    RUN(test_outbound);
    TEST_MAIN_END();
}
