/*
 * cutbox.c: see cutbox.h. Two non-blocking UDP sockets bound to 127.0.0.1,
 * each read from a GSocket source on the peer's context; no allocation per
 * datagram.
 */
#include "cutbox.h"

#include "telecounter/log.h"

#include <gio/gio.h>

struct tc_cutbox {
    GSocket *a, *b;
    GSource *src_a, *src_b;
    GSocketAddress *peer, *relay;
    bool cut;
    uint64_t dropped;
    uint8_t buf[2048];
};

static GSocketAddress *loopback(uint16_t port)
{
    GInetAddress *ia = g_inet_address_new_from_string("127.0.0.1");
    GSocketAddress *sa = g_inet_socket_address_new(ia, port);
    g_object_unref(ia);
    return sa;
}

static GSocket *bound_socket(void)
{
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
    if (!s)
        return NULL;
    GSocketAddress *any = loopback(0);
    gboolean ok = g_socket_bind(s, any, FALSE, NULL);
    g_object_unref(any);
    if (!ok) {
        g_object_unref(s);
        return NULL;
    }
    g_socket_set_blocking(s, FALSE);
    return s;
}

static uint16_t port_of(GSocket *s)
{
    GSocketAddress *sa = g_socket_get_local_address(s, NULL);
    uint16_t port = sa ? g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(sa)) : 0;
    if (sa)
        g_object_unref(sa);
    return port;
}

/* Reads everything waiting on `in` and sends it out of `out` to `to`. */
static void pump(tc_cutbox *b, GSocket *in, GSocket *out, GSocketAddress *to)
{
    for (;;) {
        gssize n = g_socket_receive_from(in, NULL, (gchar *)b->buf, sizeof b->buf, NULL, NULL);
        if (n < 0)
            return; /* EAGAIN (or an ICMP error): nothing more now */
        if (b->cut || !to) {
            b->dropped++;
            continue;
        }
        g_socket_send_to(out, to, (const gchar *)b->buf, (gsize)n, NULL, NULL);
    }
}

static gboolean on_a(GSocket *s, GIOCondition cond, gpointer data)
{
    (void)s, (void)cond;
    tc_cutbox *b = data;
    pump(b, b->a, b->b, b->relay);
    return G_SOURCE_CONTINUE;
}

static gboolean on_b(GSocket *s, GIOCondition cond, gpointer data)
{
    (void)s, (void)cond;
    tc_cutbox *b = data;
    pump(b, b->b, b->a, b->peer);
    return G_SOURCE_CONTINUE;
}

static GSource *watch(GSocket *s, GMainContext *ctx, GSocketSourceFunc fn, tc_cutbox *b)
{
    GSource *src = g_socket_create_source(s, G_IO_IN, NULL);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))fn, b, NULL);
    g_source_attach(src, ctx);
    return src;
}

tc_cutbox *tc_cutbox_create(GMainContext *ctx)
{
    tc_cutbox *b = g_new0(tc_cutbox, 1);
    b->a = bound_socket();
    b->b = bound_socket();
    if (!b->a || !b->b) {
        tc_error("cutbox: cannot bind UDP sockets on 127.0.0.1");
        tc_cutbox_destroy(b);
        return NULL;
    }
    b->src_a = watch(b->a, ctx, on_a, b);
    b->src_b = watch(b->b, ctx, on_b, b);
    return b;
}

void tc_cutbox_destroy(tc_cutbox *b)
{
    if (!b)
        return;
    GSource *srcs[2] = {b->src_a, b->src_b};
    for (int i = 0; i < 2; i++) {
        if (srcs[i]) {
            g_source_destroy(srcs[i]);
            g_source_unref(srcs[i]);
        }
    }
    g_clear_object(&b->a);
    g_clear_object(&b->b);
    g_clear_object(&b->peer);
    g_clear_object(&b->relay);
    g_free(b);
}

uint16_t tc_cutbox_port_a(const tc_cutbox *b)
{
    return port_of(b->a);
}

uint16_t tc_cutbox_port_b(const tc_cutbox *b)
{
    return port_of(b->b);
}

void tc_cutbox_set_peer(tc_cutbox *b, uint16_t port)
{
    g_clear_object(&b->peer);
    b->peer = loopback(port);
}

void tc_cutbox_set_relay(tc_cutbox *b, uint16_t port)
{
    g_clear_object(&b->relay);
    b->relay = loopback(port);
}

bool tc_cutbox_has_relay(const tc_cutbox *b)
{
    return b->relay != NULL;
}

void tc_cutbox_set_cut(tc_cutbox *b, bool cut)
{
    b->cut = cut;
}

uint64_t tc_cutbox_dropped(const tc_cutbox *b)
{
    return b->dropped;
}
