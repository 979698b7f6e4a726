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

/* Marks the source being dispatched on this thread, if any, as able to recurse.
 * Cheap after the first call for a source; call it from socket callbacks. */
void tc_loop_let_current_source_recurse(void);
