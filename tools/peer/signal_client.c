/*
 * signal_client.c: the lws client side of the signaling WebSocket. lws may
 * write only from the writeable callback, so sends go through a queue. A
 * message may arrive in fragments; they are joined in a bounded buffer (the
 * server's limit is 64 KiB; we allow 256 KiB).
 */
#include "signal_client.h"

#include "telecounter/log.h"
#include "telecounter/loop.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define RX_MAX (256 * 1024)

struct tc_sigclient {
    struct lws *wsi;
    tc_sigclient_events ev;
    void *user;
    GQueue out; /* char * (JSON text), g_free */
    GByteArray *rx;
    bool open, closed;
};

static void closed(tc_sigclient *c, const char *why)
{
    if (c->closed)
        return;
    c->closed = true;
    c->open = false;
    c->wsi = NULL;
    if (c->ev.on_closed)
        c->ev.on_closed(c->user, why);
}

static void on_receive(tc_sigclient *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->rx->len + len > RX_MAX) {
        g_byte_array_set_size(c->rx, 0);
        return;
    }
    g_byte_array_append(c->rx, in, (guint)len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return;
    json_error_t err;
    json_t *msg = json_loadb((const char *)c->rx->data, c->rx->len, 0, &err);
    g_byte_array_set_size(c->rx, 0);
    if (!json_is_object(msg)) {
        tc_warn("peer: unparsable message from the server: %s", err.text);
        json_decref(msg);
        return;
    }
    if (c->ev.on_message)
        c->ev.on_message(c->user, msg);
    json_decref(msg);
}

static int on_writeable(tc_sigclient *c, struct lws *wsi)
{
    char *text = g_queue_pop_head(&c->out);
    if (!text)
        return 0;
    size_t len = strlen(text);
    unsigned char *buf = g_malloc(LWS_PRE + len);
    memcpy(buf + LWS_PRE, text, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    g_free(buf);
    g_free(text);
    if (n < (int)len)
        return -1;
    if (!g_queue_is_empty(&c->out))
        lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    tc_loop_let_current_source_recurse();
    tc_sigclient *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return reason == LWS_CALLBACK_CLIENT_WRITEABLE ? -1 : 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->open = true;
        if (!g_queue_is_empty(&c->out))
            lws_callback_on_writable(wsi);
        if (c->ev.on_open)
            c->ev.on_open(c->user);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        on_receive(c, wsi, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(c, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        closed(c, in && len ? (const char *)in : "connection error");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        closed(c, "closed by the server");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        closed(c, "connection gone");
        c->wsi = NULL;
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"telecounter", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

const struct lws_protocols *tc_sigclient_protocols(void)
{
    return protocols;
}

static int connect_to(tc_sigclient *c, struct lws_context *lws, const char *url)
{
    char copy[512], path[512];
    const char *scheme = NULL, *host = NULL, *p = NULL;
    int port = 0;
    if (strlen(url) >= sizeof copy)
        return -EINVAL;
    snprintf(copy, sizeof copy, "%s", url);
    if (lws_parse_uri(copy, &scheme, &host, &port, &p) != 0)
        return -EINVAL;
    bool tls = strcmp(scheme, "wss") == 0 || strcmp(scheme, "https") == 0;
    snprintf(path, sizeof path, "/%s", p);
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = lws;
    i.address = host;
    i.port = port;
    i.path = path;
    i.host = host;
    i.protocol = protocols[0].name;
    i.ssl_connection =
        tls ? LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK : 0;
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    return lws_client_connect_via_info(&i) ? 0 : -ECONNREFUSED;
}

tc_sigclient *tc_sigclient_create(struct lws_context *lws, const char *url,
                                  const tc_sigclient_events *ev, void *user)
{
    tc_sigclient *c = g_new0(tc_sigclient, 1);
    c->ev = *ev;
    c->user = user;
    g_queue_init(&c->out);
    c->rx = g_byte_array_new();
    if (connect_to(c, lws, url) != 0) {
        tc_warn("peer: cannot connect to %s", url);
        c->wsi = NULL;
        tc_sigclient_destroy(c);
        return NULL;
    }
    return c;
}

int tc_sigclient_send(tc_sigclient *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (c->closed || !text) {
        free(text);
        return -ENOTCONN;
    }
    g_queue_push_tail(&c->out, g_strdup(text));
    free(text);
    if (c->open && c->wsi)
        lws_callback_on_writable(c->wsi);
    return 0;
}

void tc_sigclient_destroy(tc_sigclient *c)
{
    if (!c)
        return;
    if (c->wsi) {
        /* Detach first: lws may call back for this wsi while it closes. */
        lws_set_opaque_user_data(c->wsi, NULL);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    g_queue_clear_full(&c->out, g_free);
    g_byte_array_free(c->rx, TRUE);
    g_free(c);
}
