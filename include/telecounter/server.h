/*
 * server: the control thread's network face. libwebsockets on the caller's GLib
 * main loop serves HTTPS (static pages, /healthz, /readyz, the stats API) and the
 * WebSocket protocol of docs/protocol.md, and drives the router.
 *
 * Thread: the control thread (the one running loop). The server owns the router;
 * cfg, store and loop must outlive it.
 */
#pragma once

#include "telecounter/config.h"
#include "telecounter/store.h"

#include <glib.h>

typedef struct tc_server tc_server;

/* Listens on cfg->address:cfg->port. NULL on failure (logged). */
tc_server *tc_server_create(const tc_config *cfg, tc_store *store, GMainLoop *loop);
/* Closes every connection and the listener. NULL does nothing. */
void tc_server_destroy(tc_server *srv);

/* Ends every open session (recorded as server_shutdown) and tells its users;
 * call, let the loop run briefly so the news goes out, then destroy. */
void tc_server_shutdown(tc_server *srv);

/* Reloads the TLS certificate and key from cfg's paths for new connections. */
int tc_server_reload_tls(tc_server *srv);
