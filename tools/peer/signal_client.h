/*
 * signal_client: one WSS connection to the telecounter server, JSON objects
 * in and out (libwebsockets' client on the peer env's GLib loop, jansson).
 * Accepts the server's self-signed certificate: it is a test tool that talks
 * to loopback. Messages are queued and written when the socket is writeable.
 *
 * Thread: the loop of the lws context. The caller owns the client; after
 * tc_sigclient_destroy no callback runs.
 */
#pragma once

#include <jansson.h>
#include <libwebsockets.h>

typedef struct tc_sigclient tc_sigclient;

typedef struct {
    void (*on_open)(void *user);
    /* msg is borrowed for the call */
    void (*on_message)(void *user, json_t *msg);
    /* the connection failed or closed; no more callbacks after it */
    void (*on_closed)(void *user, const char *why);
} tc_sigclient_events;

/* The protocol list for the peer env's lws context (client only). */
const struct lws_protocols *tc_sigclient_protocols(void);

/* Starts connecting to url (wss://host:port/path). NULL on a bad url or
 * when lws refuses at once. */
tc_sigclient *tc_sigclient_create(struct lws_context *lws, const char *url,
                                  const tc_sigclient_events *ev, void *user);
/* Queues msg (the reference is stolen). 0, or -ENOTCONN after close. */
int tc_sigclient_send(tc_sigclient *c, json_t *msg);
void tc_sigclient_destroy(tc_sigclient *c);
