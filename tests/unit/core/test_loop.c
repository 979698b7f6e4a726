/*
 * Unit tests of the epoll poll function (include/telecounter/loop.h), driven
 * the way GLib drives it: a GMainContext with the function set, unix-fd
 * sources on pipes and sockets, one iteration at a time. Checks readiness,
 * write interest switched on and off, two sources on one descriptor, a source
 * removed, a descriptor number closed and reused (after a resync, or after
 * forgetting just that number), a regular
 * file, and the timeout. Everything is in-process (pipes, socketpairs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telecounter/loop.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct watch {
    int fd;
    GIOCondition seen; /* conditions of the last dispatch */
    int calls;
    guint id;
} watch;

static gboolean on_fd(gint fd, GIOCondition cond, gpointer data)
{
    watch *w = data;
    (void)fd;
    w->seen = cond;
    w->calls++;
    return G_SOURCE_CONTINUE;
}

static GMainContext *new_context(void)
{
    GMainContext *ctx = g_main_context_new();
    g_main_context_set_poll_func(ctx, tc_loop_epoll_poll);
    tc_loop_epoll_resync();
    return ctx;
}

static void add_watch(GMainContext *ctx, watch *w, int fd, GIOCondition cond)
{
    w->fd = fd;
    w->seen = 0;
    w->calls = 0;
    GSource *src = g_unix_fd_source_new(fd, cond);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))on_fd, w, NULL);
    w->id = g_source_attach(src, ctx);
    g_source_unref(src);
}

static void remove_watch(GMainContext *ctx, watch *w)
{
    g_source_destroy(g_main_context_find_source_by_id(ctx, w->id));
}

/* Iterates without blocking until nothing more is dispatched (at most 10 rounds). */
static void settle(GMainContext *ctx)
{
    for (int i = 0; i < 10 && g_main_context_iteration(ctx, FALSE); i++)
        ;
}

static void reads_and_writes_are_reported(void **state)
{
    (void)state;
    GMainContext *ctx = new_context();
    int p[2];
    assert_int_equal(pipe(p), 0);
    watch rd, wr;
    add_watch(ctx, &rd, p[0], G_IO_IN);
    add_watch(ctx, &wr, p[1], G_IO_OUT);
    settle(ctx);
    assert_int_equal(rd.calls, 0); /* nothing written yet */
    assert_true(wr.calls > 0 && (wr.seen & G_IO_OUT));
    remove_watch(ctx, &wr);
    assert_int_equal(write(p[1], "x", 1), 1);
    settle(ctx);
    assert_true(rd.calls > 0 && (rd.seen & G_IO_IN));
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    rd.calls = 0;
    settle(ctx);
    assert_int_equal(rd.calls, 0); /* level-triggered: drained means quiet */
    close(p[1]);                   /* the reader sees the hang-up */
    settle(ctx);
    assert_true(rd.seen & G_IO_HUP);
    remove_watch(ctx, &rd);
    close(p[0]);
    g_main_context_unref(ctx);
}

static void two_sources_on_one_descriptor(void **state)
{
    (void)state;
    GMainContext *ctx = new_context();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    watch in, out;
    add_watch(ctx, &in, sv[0], G_IO_IN);
    add_watch(ctx, &out, sv[0], G_IO_OUT);
    settle(ctx);
    assert_int_equal(in.calls, 0);
    assert_true(out.calls > 0 && !(out.seen & G_IO_IN));
    remove_watch(ctx, &out);
    assert_int_equal(write(sv[1], "y", 1), 1);
    settle(ctx);
    assert_true(in.calls > 0 && (in.seen & G_IO_IN) && !(in.seen & G_IO_OUT));
    remove_watch(ctx, &in);
    close(sv[0]);
    close(sv[1]);
    g_main_context_unref(ctx);
}

/* A pipe watched for a round, then its source removed and both ends closed;
 * a new pipe takes the same number within the same round, before the next
 * poll. Leaves the new pipe in q, not yet watched. */
static void reuse_a_number(GMainContext *ctx, int q[2])
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    watch old;
    add_watch(ctx, &old, p[0], G_IO_IN);
    settle(ctx);
    remove_watch(ctx, &old);
    int number = p[0];
    close(p[0]);
    close(p[1]);
    assert_int_equal(pipe(q), 0);
    assert_int_equal(q[0], number);
}

/* After a reuse, the new pipe's data is seen: the caller told the mirror. */
static void expect_seen(GMainContext *ctx, watch *w, int q[2])
{
    assert_int_equal(write(q[1], "z", 1), 1);
    settle(ctx);
    assert_true(w->calls > 0 && (w->seen & G_IO_IN));
    remove_watch(ctx, w);
    close(q[0]);
    close(q[1]);
}

static void a_reused_descriptor_number_works_after_resync(void **state)
{
    (void)state;
    GMainContext *ctx = new_context();
    int q[2];
    reuse_a_number(ctx, q);
    watch fresh;
    add_watch(ctx, &fresh, q[0], G_IO_IN);
    tc_loop_epoll_resync();
    expect_seen(ctx, &fresh, q);
    g_main_context_unref(ctx);
}

/* The same, with the narrow form: only the reused number is forgotten, and the
 * other descriptors keep their registration. */
static void a_reused_descriptor_number_works_after_forget(void **state)
{
    (void)state;
    GMainContext *ctx = new_context();
    int other[2], q[2];
    assert_int_equal(pipe(other), 0);
    watch bystander, fresh;
    add_watch(ctx, &bystander, other[0], G_IO_IN);
    reuse_a_number(ctx, q);
    tc_loop_epoll_forget(q[0]);
    add_watch(ctx, &fresh, q[0], G_IO_IN);
    expect_seen(ctx, &fresh, q);
    assert_int_equal(bystander.calls, 0);
    tc_loop_epoll_forget(-1);    /* nothing */
    tc_loop_epoll_forget(99999); /* never seen: nothing */
    expect_seen(ctx, &bystander, other);
    g_main_context_unref(ctx);
}

static void a_regular_file_is_always_ready(void **state)
{
    (void)state;
    GMainContext *ctx = new_context();
    char path[] = "/tmp/tc-test-loop-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    watch w;
    add_watch(ctx, &w, fd, G_IO_IN);
    settle(ctx);
    assert_true(w.calls > 0 && (w.seen & G_IO_IN)); /* as poll() says of files */
    remove_watch(ctx, &w);
    close(fd);
    g_main_context_unref(ctx);
}

static void blocks_until_the_timeout(void **state)
{
    (void)state;
    GMainContext *ctx = new_context();
    int p[2];
    assert_int_equal(pipe(p), 0);
    watch w;
    add_watch(ctx, &w, p[0], G_IO_IN);
    GPollFD fds[2] = {{.fd = p[0], .events = G_IO_IN}, {.fd = p[1], .events = G_IO_OUT}};
    gint64 t0 = g_get_monotonic_time();
    assert_int_equal(tc_loop_epoll_poll(fds, 1, 50), 0);
    assert_true(g_get_monotonic_time() - t0 >= 45000);
    assert_int_equal(tc_loop_epoll_poll(fds, 2, 1000), 1); /* the write end is ready */
    assert_int_equal(fds[0].revents, 0);
    assert_true(fds[1].revents & G_IO_OUT);
    remove_watch(ctx, &w);
    close(p[0]);
    close(p[1]);
    g_main_context_unref(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_and_writes_are_reported),
        cmocka_unit_test(two_sources_on_one_descriptor),
        cmocka_unit_test(a_reused_descriptor_number_works_after_resync),
        cmocka_unit_test(a_reused_descriptor_number_works_after_forget),
        cmocka_unit_test(a_regular_file_is_always_ready),
        cmocka_unit_test(blocks_until_the_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
