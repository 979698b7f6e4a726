/*
 * worker.c: a media worker is a thread running its own GMainContext. Its legs
 * are its own: only code running on that thread touches them, so forwarding a
 * packet from one leg of a call to the other is a function call, with no lock.
 * The control thread reaches a worker only through tc_worker_post.
 *
 * Outgoing media waits in the worker's udp_batch until the loop is about to
 * wait again (a source of the highest priority flushes it in its prepare,
 * which GLib calls before every poll), so a burst leaves in one system call.
 */
#include "media_internal.h"

#include "telecounter/log.h"
#include "telecounter/loop.h"

#include <stdio.h>

struct tc_worker {
    int index;
    const tc_media_shared *shared;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    GHashTable *legs;    /* TC_LEG_KEY -> tc_leg* (owned); this thread only */
    tc_udp_batch *batch; /* this thread only */
};

/* Datagrams held at most: a few video frames (a frame is ~6 packets). */
#define TC_BATCH_SLOTS 32

typedef struct flush_source {
    GSource base;
    tc_udp_batch *batch;
} flush_source;

static gboolean flush_prepare(GSource *src, gint *timeout)
{
    tc_udp_batch_flush(((flush_source *)src)->batch);
    *timeout = -1;
    return FALSE;
}

static gboolean flush_dispatch(GSource *src, GSourceFunc fn, gpointer data)
{
    (void)src, (void)fn, (void)data;
    return G_SOURCE_CONTINUE; /* never ready: prepare is all it does */
}

static GSourceFuncs flush_funcs = {.prepare = flush_prepare, .dispatch = flush_dispatch};

/* GLib stops calling prepare at the first priority with a ready source: the
 * flush must come before all of them. */
static void attach_flush_source(tc_worker *w)
{
    GSource *src = g_source_new(&flush_funcs, sizeof(flush_source));
    ((flush_source *)src)->batch = w->batch;
    g_source_set_priority(src, G_PRIORITY_HIGH - 1);
    g_source_set_name(src, "tc-udp-batch-flush");
    g_source_attach(src, w->ctx);
    g_source_unref(src);
}

static void destroy_leg(gpointer p)
{
    tc_leg_destroy(p);
}

static gpointer run(gpointer data)
{
    tc_worker *w = data;
    g_main_context_push_thread_default(w->ctx);
    /* epoll instead of poll over every leg's socket on each wake-up. With
     * ICE-TCP, libnice opens and closes sockets on its own, which the epoll
     * mirror would not hear of (see loop.h), so then plain poll it is. */
    if (!w->shared->cfg->media_ice_tcp)
        g_main_context_set_poll_func(w->ctx, tc_loop_epoll_poll);
    g_main_loop_run(w->loop);
    /* Legs die on their own thread: their libnice agents belong to this context. */
    g_hash_table_destroy(w->legs);
    w->legs = NULL;
    tc_udp_batch_flush(w->batch);
    tc_udp_batch_counts n = tc_udp_batch_counts_of(w->batch);
    tc_info("media worker %d: %" G_GUINT64_FORMAT " datagrams sent directly in %" G_GUINT64_FORMAT
            " system calls, %" G_GUINT64_FORMAT " refused by the kernel",
            w->index, n.datagrams, n.calls, n.dropped);
    tc_udp_batch_destroy(w->batch);
    w->batch = NULL;
    g_main_context_pop_thread_default(w->ctx);
    return NULL;
}

tc_worker *tc_worker_start(int index, const tc_media_shared *shared)
{
    tc_worker *w = g_new0(tc_worker, 1);
    w->index = index;
    w->shared = shared;
    w->ctx = g_main_context_new();
    w->loop = g_main_loop_new(w->ctx, FALSE);
    w->legs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, destroy_leg);
    w->batch = tc_udp_batch_create(TC_BATCH_SLOTS, TC_PACKET_CAP);
    if (!w->batch)
        g_error("media: out of memory for a send batch");
    attach_flush_source(w);
    char name[16];
    snprintf(name, sizeof name, "tc-media-%d", index);
    w->thread = g_thread_new(name, run, w);
    return w;
}

static gboolean quit(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

void tc_worker_stop(tc_worker *w)
{
    if (!w)
        return;
    g_main_context_invoke(w->ctx, quit, w->loop);
    g_thread_join(w->thread);
    g_main_loop_unref(w->loop);
    g_main_context_unref(w->ctx);
    g_free(w);
}

GMainContext *tc_worker_context(tc_worker *w)
{
    return w->ctx;
}

tc_udp_batch *tc_worker_batch(tc_worker *w)
{
    return w->batch;
}

const tc_media_shared *tc_worker_shared(tc_worker *w)
{
    return w->shared;
}

void tc_worker_post(tc_worker *w, GSourceFunc fn, gpointer msg, GDestroyNotify free_msg)
{
    g_main_context_invoke_full(w->ctx, G_PRIORITY_DEFAULT, fn, msg, free_msg);
}

tc_leg *tc_worker_leg(tc_worker *w, int64_t session_id, tc_media_side side)
{
    int64_t key = TC_LEG_KEY(session_id, side);
    return g_hash_table_lookup(w->legs, &key);
}

void tc_worker_add_leg(tc_worker *w, tc_leg *leg)
{
    int64_t *key = g_new(int64_t, 1);
    *key = TC_LEG_KEY(tc_leg_session(leg), tc_leg_side(leg));
    g_hash_table_replace(w->legs, key, leg);
}

void tc_worker_remove_leg(tc_worker *w, tc_leg *leg)
{
    int64_t key = TC_LEG_KEY(tc_leg_session(leg), tc_leg_side(leg));
    g_hash_table_remove(w->legs, &key);
}
