/*
 * Unit tests for send_batch: direct writes, held writes sent together, the
 * 64-BIO chunks, bytes the socket does not take (blocked callback, retry,
 * resume), the hold limit, sticky errors, a BIO freed while listed, the
 * batch's reference counting, and a ring that fails. Real sockets only:
 * AF_UNIX stream pairs and TCP on 127.0.0.1, made and closed by the test.
 *
 * Every test runs twice: in the group "io_uring" (the batch asks for a ring)
 * and in the group "send" (one send(2) per BIO). Every byte a BIO accepts is
 * the next of a counter pattern, and the peer checks each byte it reads
 * against it, so loss, duplication and reordering all fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "telecounter/send_batch.h"

#define CHUNK 64     /* SEND_CHUNK in send_batch.c: BIOs per submission */
#define PIECE 16384u /* the largest write put() makes, about one TLS record */
#define WAIT_MS 5000 /* generous: loopback delivers at once */

static const bool use_ring = true, use_send = false;

/* One connection: the BIO writes to fd, the test reads at peer. */
typedef struct conn {
    int fd, peer;
    BIO *bio;
    uint64_t written; /* bytes the BIO accepted: pattern positions [0, written) */
    uint64_t read;    /* bytes the peer read, each checked */
    int blocked;      /* calls of the blocked callback */
} conn;

/* The byte at stream position pos: a hash, so a shift by any amount shows. */
static uint8_t pattern(uint64_t pos)
{
    return (uint8_t)((pos * UINT64_C(0x9E3779B97F4A7C15)) >> 56);
}

static void on_blocked(void *data)
{
    ((conn *)data)->blocked++;
}

static tc_send_batch *new_batch(void **state)
{
    bool ring = *(const bool *)*state;
    tc_send_batch *b = tc_send_batch_create(ring);
    assert_non_null(b);
    if (!ring)
        assert_false(tc_send_batch_uses_io_uring(b));
    return b;
}

static void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

static void tcp_pair(int sv[2])
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr, &len), 0);
    sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(sv[0] >= 0);
    assert_int_equal(connect(sv[0], (struct sockaddr *)&addr, sizeof addr), 0);
    sv[1] = accept(lfd, NULL, NULL);
    assert_true(sv[1] >= 0);
    close(lfd);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);
}

/* A connection whose BIO counts its blocked calls in c->blocked. */
static void conn_open(conn *c, tc_send_batch *b, bool tcp)
{
    int sv[2];
    if (tcp)
        tcp_pair(sv);
    else
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    *c = (conn){.fd = sv[0], .peer = sv[1]};
    c->bio = tc_send_batch_bio(b, c->fd);
    assert_non_null(c->bio);
    tc_send_batch_on_blocked(c->bio, on_blocked, c);
}

/* The kernel takes only a few KiB at a time from this socket. */
static void small_sndbuf(conn *c)
{
    int size = 4096;
    assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
}

static void conn_close(conn *c)
{
    BIO_free(c->bio);
    close(c->fd);
    if (c->peer >= 0)
        close(c->peer);
}

/* n socket-pair connections of batch b. */
static void conns_open(conn *c, int n, tc_send_batch *b)
{
    for (int i = 0; i < n; i++)
        conn_open(&c[i], b, false);
}

/* Closes n connections, then drops the batch. */
static void conns_close_all(conn *c, int n, tc_send_batch *b)
{
    for (int i = 0; i < n; i++)
        conn_close(&c[i]);
    tc_send_batch_destroy(b);
}

/* BIO_write of the next n pattern bytes; what it returns. */
static int put(conn *c, size_t n)
{
    uint8_t buf[PIECE];
    assert_true(n > 0 && n <= sizeof buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(c->written + i);
    int r = BIO_write(c->bio, buf, (int)n);
    if (r > 0)
        c->written += (uint64_t)r;
    return r;
}

static void put_all(conn *c, size_t n)
{
    assert_int_equal(put(c, n), (int)n);
}

/* Reads and checks what the peer has now; how many bytes. */
static size_t drain(conn *c)
{
    uint8_t buf[PIECE];
    size_t total = 0;
    ssize_t n;
    while ((n = recv(c->peer, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            assert_int_equal(buf[i], pattern(c->read + (uint64_t)i));
        c->read += (uint64_t)n;
        total += (size_t)n;
    }
    assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    return total;
}

static void expect_nothing(const conn *c)
{
    uint8_t byte;
    assert_int_equal(recv(c->peer, &byte, 1, MSG_DONTWAIT | MSG_PEEK), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* The peer reads everything the BIO accepted, and nothing more. */
static void expect_all(conn *c)
{
    for (int waited = 0; c->read < c->written && waited < WAIT_MS; waited += 10) {
        drain(c);
        if (c->read < c->written)
            poll(&(struct pollfd){.fd = c->peer, .events = POLLIN}, 1, 10);
    }
    assert_int_equal(c->read, c->written);
    expect_nothing(c);
}

/* Direct writes until the socket is full: the last one reports retry. */
static void fill(conn *c)
{
    int r = 0;
    for (int i = 0; i < 10000 && (r = put(c, PIECE)) > 0; i++)
        ;
    assert_true(r <= 0);
    assert_true(BIO_should_retry(c->bio));
    assert_true(BIO_should_write(c->bio));
}

/* The peer reads while the owner resumes, until nothing is left unsent. */
static void drain_and_resume(conn *c)
{
    int r = -EAGAIN;
    for (int i = 0; i < 100000 && r == -EAGAIN; i++) {
        r = tc_send_batch_resume(c->bio);
        if (r == -EAGAIN && drain(c) == 0)
            poll(&(struct pollfd){.fd = c->peer, .events = POLLIN}, 1, 10);
    }
    assert_int_equal(r, 0);
    assert_int_equal(tc_send_batch_unsent(c->bio), 0);
    expect_all(c);
}

/* ---- the tests ----------------------------------------------------------- */

/* Outside a hold, a write is a send(2): the peer has it when BIO_write returns. */
static void test_direct_write_goes_at_once(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c[2];
    conn_open(&c[0], b, false);
    conn_open(&c[1], b, true);
    for (int i = 0; i < 2; i++) {
        put_all(&c[i], 100);
        put_all(&c[i], 3000);
        assert_int_equal(tc_send_batch_unsent(c[i].bio), 0);
        assert_int_equal(BIO_wpending(c[i].bio), 0);
        expect_all(&c[i]);
        assert_int_equal(c[i].blocked, 0);
    }
    tc_send_batch_counts n = tc_send_batch_counts_of(b);
    assert_int_equal(n.bytes, 2 * 3100);
    assert_int_equal(n.sends, 0); /* sends counts held bytes only */
    assert_int_equal(n.system_calls, 0);
    conn_close(&c[0]), conn_close(&c[1]);
    tc_send_batch_destroy(b);
}

/* Held bytes stay in the BIOs (inline and on the heap) until the send, then
 * arrive whole and in order: one submission for all with io_uring, one
 * send(2) per BIO without. Once sent, writes are direct again. */
static void test_held_until_send(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c[3];
    for (int i = 0; i < 3; i++)
        conn_open(&c[i], b, i == 2);
    tc_send_batch_hold(b);
    static const size_t sizes[3] = {130, 700, 5000};
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 3; i++)
            put_all(&c[i], sizes[(round + i) % 3]);
    uint64_t total = 0;
    for (int i = 0; i < 3; i++) {
        expect_nothing(&c[i]);
        assert_int_equal(tc_send_batch_unsent(c[i].bio), c[i].written);
        total += c[i].written;
    }
    assert_int_equal(tc_send_batch_counts_of(b).sends, 0);
    assert_int_equal(tc_send_batch_send(b), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tc_send_batch_unsent(c[i].bio), 0);
        expect_all(&c[i]);
        assert_int_equal(c[i].blocked, 0);
    }
    tc_send_batch_counts n = tc_send_batch_counts_of(b);
    assert_int_equal(n.bytes, total);
    assert_int_equal(n.sends, 3);
    assert_int_equal(n.system_calls, tc_send_batch_uses_io_uring(b) ? 1 : 3);
    assert_int_equal(n.blocked + n.failed, 0);
    put_all(&c[1], 10); /* holding has ended */
    expect_all(&c[1]);
    tc_send_batch_hold(b); /* a pass with nothing held sends nothing */
    assert_int_equal(tc_send_batch_send(b), 0);
    assert_int_equal(tc_send_batch_counts_of(b).system_calls, n.system_calls);
    conns_close_all(c, 3, b);
}

/* The 64th BIO given bytes sends the first 64 at once; a BIO written again
 * after its chunk went is listed again for the next chunk. */
static void test_chunks_of_64_go_early(void **state)
{
    enum { N = CHUNK + 6 };
    tc_send_batch *b = new_batch(state);
    conn c[N];
    conns_open(c, N, b);
    tc_send_batch_hold(b);
    for (int i = 0; i < CHUNK - 1; i++)
        put_all(&c[i], 100 + (size_t)i);
    for (int i = 0; i < CHUNK - 1; i++)
        expect_nothing(&c[i]);
    put_all(&c[CHUNK - 1], 50);
    for (int i = 0; i < CHUNK; i++)
        expect_all(&c[i]);
    put_all(&c[0], 20); /* its chunk went: listed again */
    for (int i = CHUNK; i < N; i++)
        put_all(&c[i], 30);
    expect_nothing(&c[0]);
    for (int i = CHUNK; i < N; i++)
        expect_nothing(&c[i]);
    assert_int_equal(tc_send_batch_send(b), 0);
    for (int i = 0; i < N; i++)
        expect_all(&c[i]);
    tc_send_batch_counts n = tc_send_batch_counts_of(b);
    assert_int_equal(n.sends, N + 1);
    assert_int_equal(n.system_calls, tc_send_batch_uses_io_uring(b) ? 2 : N + 1);
    conns_close_all(c, N, b);
}

/* A full socket: the held bytes stay, the owner is told, direct writes say
 * retry, resume says -EAGAIN until the peer reads, then everything arrives
 * in order: bytes held in a later pass after the leftovers, and a direct
 * write once the peer has read after them too. */
static void test_blocked_then_resumed(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c;
    conn_open(&c, b, false);
    small_sndbuf(&c);
    fill(&c);
    tc_send_batch_hold(b);
    put_all(&c, 3000);
    assert_int_equal(tc_send_batch_send(b), 1);
    assert_int_equal(c.blocked, 1);
    assert_int_equal(tc_send_batch_unsent(c.bio), 3000);
    assert_int_equal(BIO_wpending(c.bio), 3000);
    assert_true(put(&c, 100) <= 0);
    assert_true(BIO_should_retry(c.bio) && BIO_should_write(c.bio));
    assert_int_equal(tc_send_batch_resume(c.bio), -EAGAIN);
    assert_int_equal(c.blocked, 1); /* resume does not call it */
    tc_send_batch_hold(b);          /* a later pass: its bytes go after */
    put_all(&c, 200);
    assert_int_equal(tc_send_batch_send(b), 1);
    assert_int_equal(c.blocked, 2);
    assert_int_equal(tc_send_batch_unsent(c.bio), 3200);
    tc_send_batch_counts n = tc_send_batch_counts_of(b);
    assert_int_equal(n.sends, 2);
    assert_int_equal(n.blocked, 2);
    assert_int_equal(n.failed, 0);
    int r = 0;
    for (int i = 0; i < 1000 && r <= 0; i++) { /* the leftovers go first */
        drain(&c);
        r = put(&c, 100);
        assert_true(r > 0 || BIO_should_retry(c.bio));
    }
    assert_true(r > 0);
    drain_and_resume(&c);
    assert_int_equal(tc_send_batch_counts_of(b).bytes, c.written);
    conn_close(&c);
    tc_send_batch_destroy(b);
}

/* The socket takes part of a held send: the rest stays, and bytes held later
 * are appended behind it (over the part already sent). */
static void test_partly_sent(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c;
    conn_open(&c, b, false);
    small_sndbuf(&c);
    tc_send_batch_hold(b);
    for (int i = 0; i < 4; i++)
        put_all(&c, PIECE);
    assert_int_equal(tc_send_batch_send(b), 1);
    assert_int_equal(c.blocked, 1);
    size_t left = tc_send_batch_unsent(c.bio);
    assert_true(left > 0 && left < 4 * PIECE);
    drain(&c);
    tc_send_batch_hold(b);
    put_all(&c, 1000);
    assert_true(tc_send_batch_send(b) >= 0);
    drain_and_resume(&c);
    assert_int_equal(c.read, 4 * PIECE + 1000);
    assert_int_equal(tc_send_batch_counts_of(b).bytes, c.written);
    conn_close(&c);
    tc_send_batch_destroy(b);
}

/* A BIO holds at most TC_SEND_BATCH_HOLD_MAX bytes; past that a write says
 * retry and takes nothing, and all it took is sent. */
static void test_hold_limit(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c;
    conn_open(&c, b, false);
    small_sndbuf(&c);
    tc_send_batch_hold(b);
    int r = 0;
    for (int i = 0; i < 1000 && (r = put(&c, PIECE)) > 0; i++)
        ;
    assert_true(r <= 0);
    assert_true(BIO_should_retry(c.bio) && BIO_should_write(c.bio));
    assert_int_equal(c.written, TC_SEND_BATCH_HOLD_MAX);
    assert_int_equal(tc_send_batch_unsent(c.bio), TC_SEND_BATCH_HOLD_MAX);
    assert_true(put(&c, 1) <= 0);
    assert_true(BIO_should_retry(c.bio));
    assert_int_equal(tc_send_batch_send(b), 1);
    assert_int_equal(c.blocked, 1);
    drain_and_resume(&c);
    assert_int_equal(c.read, TC_SEND_BATCH_HOLD_MAX);
    conn_close(&c);
    tc_send_batch_destroy(b);
}

/* Held writes to c until a send fails (the peer has closed). */
static void send_until_failed(tc_send_batch *b, conn *c)
{
    for (int i = 0; i < 500 && tc_send_batch_counts_of(b).failed == 0; i++) {
        tc_send_batch_hold(b);
        put_all(c, 100);
        tc_send_batch_send(b);
        poll(&(struct pollfd){.fd = c->fd, .events = POLLIN}, 1, 10);
    }
    assert_int_equal(tc_send_batch_counts_of(b).failed, 1);
}

/* A failed send is sticky: resume, held and direct writes all fail, none as
 * retry; the owner was told. */
static void test_error_is_sticky(void **state)
{
    for (int tcp = 0; tcp < 2; tcp++) {
        tc_send_batch *b = new_batch(state);
        conn c;
        conn_open(&c, b, tcp);
        close(c.peer), c.peer = -1;
        send_until_failed(b, &c);
        assert_true(c.blocked >= 1);
        int err = tc_send_batch_resume(c.bio);
        assert_true(err < 0 && err != -EAGAIN);
        assert_int_equal(tc_send_batch_unsent(c.bio), 0);
        assert_true(put(&c, 10) <= 0);
        assert_false(BIO_should_retry(c.bio));
        tc_send_batch_hold(b);
        assert_true(put(&c, 10) <= 0);
        assert_false(BIO_should_retry(c.bio));
        tc_send_batch_send(b);
        assert_int_equal(tc_send_batch_resume(c.bio), err);
        assert_int_equal(tc_send_batch_counts_of(b).failed, 1);
        conn_close(&c);
        tc_send_batch_destroy(b);
    }
}

/* A direct write that fails makes the error sticky too. */
static void test_direct_error_is_sticky(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c;
    conn_open(&c, b, false);
    close(c.peer), c.peer = -1;
    assert_true(put(&c, 10) <= 0);
    assert_false(BIO_should_retry(c.bio));
    int err = tc_send_batch_resume(c.bio);
    assert_true(err < 0 && err != -EAGAIN);
    tc_send_batch_hold(b);
    assert_true(put(&c, 10) <= 0);
    assert_false(BIO_should_retry(c.bio));
    assert_int_equal(tc_send_batch_send(b), 0); /* nothing was held */
    assert_int_equal(tc_send_batch_resume(c.bio), err);
    conn_close(&c);
    tc_send_batch_destroy(b);
}

/* A BIO freed while listed is skipped; the others' bytes go as if it never
 * was, in the final send and in a chunk it was counted in. */
static void test_freed_while_listed(void **state)
{
    enum { N = CHUNK + 1 };
    tc_send_batch *b = new_batch(state);
    conn c[N];
    conns_open(c, N, b);
    tc_send_batch_hold(b);
    for (int i = 0; i < CHUNK - 1; i++)
        put_all(&c[i], 100);
    BIO_free(c[5].bio), c[5].bio = NULL;
    put_all(&c[CHUNK - 1], 100); /* the 64th listed: the chunk goes */
    for (int i = 0; i < CHUNK; i++)
        if (i != 5)
            expect_all(&c[i]);
    expect_nothing(&c[5]);
    put_all(&c[0], 10);
    put_all(&c[CHUNK], 10);
    put_all(&c[1], 10);
    BIO_free(c[CHUNK].bio), c[CHUNK].bio = NULL;
    assert_int_equal(tc_send_batch_send(b), 0);
    expect_all(&c[0]);
    expect_all(&c[1]);
    expect_nothing(&c[CHUNK]);
    tc_send_batch_counts n = tc_send_batch_counts_of(b);
    assert_int_equal(n.sends, CHUNK - 1 + 2);
    conns_close_all(c, N, b);
}

/* The BIOs keep their batch: destroyed first, it lives until the last BIO
 * is freed, even one freed with bytes unsent (ASan checks nothing leaks). */
static void test_bios_outlive_batch(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c[2];
    conn_open(&c[0], b, false);
    conn_open(&c[1], b, false);
    small_sndbuf(&c[1]);
    fill(&c[1]);
    tc_send_batch_hold(b);
    put_all(&c[1], 2000);
    assert_int_equal(tc_send_batch_send(b), 1);
    tc_send_batch_destroy(b);
    assert_int_equal(tc_send_batch_resume(c[1].bio), -EAGAIN);
    put_all(&c[0], 500);
    expect_all(&c[0]);
    tc_send_batch_on_blocked(c[0].bio, NULL, NULL);
    conn_close(&c[0]);
    assert_int_equal(tc_send_batch_unsent(c[1].bio), 2000);
    conn_close(&c[1]); /* the last reference */
    tc_send_batch_destroy(NULL);
}

/* Arguments the module refuses, and BIOs it did not make. */
static void test_bad_arguments(void **state)
{
    tc_send_batch *b = new_batch(state);
    assert_null(tc_send_batch_bio(b, -1));
    BIO *mem = BIO_new(BIO_s_mem());
    assert_non_null(mem);
    assert_int_equal(tc_send_batch_resume(mem), -EINVAL);
    assert_int_equal(tc_send_batch_unsent(mem), 0);
    tc_send_batch_on_blocked(mem, on_blocked, NULL); /* ignored */
    assert_int_equal(BIO_write(mem, "x", 1), 1);
    BIO_free(mem);
    assert_int_equal(tc_send_batch_resume(NULL), -EINVAL);
    assert_int_equal(tc_send_batch_unsent(NULL), 0);
    tc_send_batch_destroy(b);
}

/* on_blocked with NULL clears the callback; set again, it is called again. */
static void test_blocked_callback_cleared(void **state)
{
    tc_send_batch *b = new_batch(state);
    conn c;
    conn_open(&c, b, false);
    small_sndbuf(&c);
    fill(&c);
    tc_send_batch_on_blocked(c.bio, NULL, NULL);
    tc_send_batch_hold(b);
    put_all(&c, 300);
    assert_int_equal(tc_send_batch_send(b), 1);
    assert_int_equal(c.blocked, 0);
    tc_send_batch_on_blocked(c.bio, on_blocked, &c);
    tc_send_batch_hold(b);
    put_all(&c, 300);
    assert_int_equal(tc_send_batch_send(b), 1);
    assert_int_equal(c.blocked, 1);
    drain_and_resume(&c);
    conn_close(&c);
    tc_send_batch_destroy(b);
}

/* Whether fd is an io_uring instance. */
static bool is_ring(int fd)
{
    char path[64], target[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return strstr(target, "io_uring") != NULL;
}

/* Makes fd a copy of /dev/null's; its device number. */
static dev_t make_null(int fd)
{
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct stat st;
    assert_int_equal(fstat(null_fd, &st), 0);
    assert_int_equal(dup2(null_fd, fd), fd);
    close(null_fd);
    return st.st_rdev;
}

/* A ring that fails (here its fd is made a copy of /dev/null's, so that
 * io_uring_enter fails) is given up: the sends it did not take go by send(2)
 * at once, and so do those of later passes. */
/* Whether this process still maps an io_uring (a ring not released). */
static bool ring_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "io_uring") != NULL;
    fclose(f);
    return found;
}

static void test_failed_ring_falls_back(void **state)
{
    int next_fd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* the ring's fd to be */
    assert_true(next_fd >= 0);
    close(next_fd);
    tc_send_batch *b = new_batch(state);
    bool ring = tc_send_batch_uses_io_uring(b);
    dev_t null_dev = 0;
    if (ring) {
        assert_true(is_ring(next_fd));
        null_dev = make_null(next_fd);
    }
    conn c[3];
    conns_open(c, 3, b);
    for (int pass = 0; pass < 2; pass++) {
        tc_send_batch_hold(b);
        for (int i = 0; i < 3; i++)
            put_all(&c[i], 200);
        assert_int_equal(tc_send_batch_send(b), 0);
        for (int i = 0; i < 3; i++)
            expect_all(&c[i]);
    }
    assert_false(tc_send_batch_uses_io_uring(b));
    tc_send_batch_counts n = tc_send_batch_counts_of(b);
    assert_int_equal(n.sends, 6);
    assert_int_equal(n.system_calls, ring ? 1 + 6 : 6); /* the failed submission, then send(2)s */
    assert_int_equal(n.failed, 0);
    conns_close_all(c, 3, b);
    struct stat st; /* the copy of /dev/null, unless the batch closed it with its ring */
    if (ring && fstat(next_fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == null_dev)
        close(next_fd);
    assert_false(ring_mapped()); /* the ring given up was released with its batch */
}

/* ---- the two groups ------------------------------------------------------ */

static int group_ring(void **state)
{
    *state = (void *)&use_ring;
    tc_send_batch *b = tc_send_batch_create(true);
    if (!b)
        return -1;
    if (tc_send_batch_uses_io_uring(b))
        printf("send_batch: group \"io_uring\": the batch sends with io_uring\n");
    else
        printf("send_batch: NOTE: io_uring is unavailable here: the \"io_uring\" group runs "
               "with send(2), as the \"send\" group does\n");
    fflush(stdout);
    tc_send_batch_destroy(b);
    return 0;
}

static int group_send(void **state)
{
    *state = (void *)&use_send;
    printf("send_batch: group \"send\": the batch sends with send(2)\n");
    fflush(stdout);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_write_goes_at_once),
        cmocka_unit_test(test_held_until_send),
        cmocka_unit_test(test_chunks_of_64_go_early),
        cmocka_unit_test(test_blocked_then_resumed),
        cmocka_unit_test(test_partly_sent),
        cmocka_unit_test(test_hold_limit),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_direct_error_is_sticky),
        cmocka_unit_test(test_freed_while_listed),
        cmocka_unit_test(test_bios_outlive_batch),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_blocked_callback_cleared),
        cmocka_unit_test(test_failed_ring_falls_back),
    };
    int failed = cmocka_run_group_tests_name("io_uring", tests, group_ring, NULL);
    failed += cmocka_run_group_tests_name("send", tests, group_send, NULL);
    return failed;
}
