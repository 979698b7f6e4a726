/*
 * loop: what telecounter needs to know about GLib's main loop beyond its API.
 *
 * While GLib dispatches a source that may not recurse (the default), it takes
 * that source's descriptors out of the context's poll list and puts them back
 * afterwards; both steps walk a linked list of every descriptor of the context.
 * libwebsockets' GLib event library and libnice each give every socket a
 * GSource of its own, so with thousands of connections (or hundreds of legs on
 * a media worker) each dispatch costs O(sockets): at 2,000 WebSockets it was
 * nine tenths of the server's time in a queue fan-out. Nothing in telecounter
 * runs a nested main loop, so the callbacks of those libraries mark the source
 * that is calling them as able to recurse, which skips both walks.
 *
 * Thread: the thread that is dispatching the source.
 */
#pragma once

#include <glib.h>

/* Marks the source being dispatched on this thread, if any, as able to recurse.
 * Cheap after the first call for a source; call it from socket callbacks. */
void tc_loop_let_current_source_recurse(void);

/*
 * A GLib poll function (g_main_context_set_poll_func) that keeps an epoll set
 * mirroring the context's descriptors, so that a wake-up costs the kernel
 * O(ready) instead of O(descriptors): with a leg's socket per call on a media
 * worker, poll() over every socket was a fixed cost on every packet. For a
 * context whose descriptors change only where its owner knows it: after
 * creating descriptors in the context (a closed number can come back for a
 * new socket, which a mirror cannot tell apart), call tc_loop_epoll_resync()
 * on the context's thread. Falls back to g_poll when epoll is unavailable.
 * Thread: the one thread that iterates the context.
 */
gint tc_loop_epoll_poll(GPollFD *fds, guint nfds, gint timeout);
void tc_loop_epoll_resync(void);
/* The narrow form of a resync, for one new descriptor whose number may have
 * been closed since the last poll (an accepted connection): costs O(listed)
 * in memory, no system call, where a resync re-adds every descriptor. */
void tc_loop_epoll_forget(int fd);
