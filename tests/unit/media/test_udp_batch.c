/* Unit tests for udp_batch: held until flushed, runs by destination, full
 * batches, bad arguments, refused datagrams, flush on destroy. Real UDP
 * sockets on 127.0.0.1, made and closed by the test. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "telecounter/udp_batch.h"

typedef struct endpoint {
    int fd;
    struct sockaddr_in addr;
} endpoint;

static endpoint bound_socket(void)
{
    endpoint e = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
    assert_true(e.fd >= 0);
    e.addr.sin_family = AF_INET;
    e.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(e.fd, (struct sockaddr *)&e.addr, sizeof e.addr), 0);
    socklen_t len = sizeof e.addr;
    assert_int_equal(getsockname(e.fd, (struct sockaddr *)&e.addr, &len), 0);
    return e;
}

static int add(tc_udp_batch *b, const endpoint *from, const endpoint *to, uint8_t tag)
{
    uint8_t pkt[3] = {tag, (uint8_t)~tag, tag};
    return tc_udp_batch_add(b, from->fd, (const struct sockaddr *)&to->addr, sizeof to->addr, pkt,
                            sizeof pkt);
}

/* The next datagram waiting on `at`, which must be the one add() made for tag. */
static void expect_datagram(const endpoint *at, const endpoint *from, uint8_t tag)
{
    uint8_t buf[16];
    struct sockaddr_in src;
    socklen_t src_len = sizeof src;
    ssize_t n = recvfrom(at->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&src, &src_len);
    assert_int_equal(n, 3);
    assert_int_equal(buf[0], tag);
    assert_int_equal(buf[1], (uint8_t)~tag);
    assert_int_equal(src.sin_port, from->addr.sin_port);
}

static void expect_nothing(const endpoint *at)
{
    uint8_t buf[16];
    assert_int_equal(recv(at->fd, buf, sizeof buf, MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void test_create_args(void **state)
{
    (void)state;
    assert_null(tc_udp_batch_create(0, 1500));
    assert_null(tc_udp_batch_create(1025, 1500));
    assert_null(tc_udp_batch_create(8, 0));
    assert_null(tc_udp_batch_create(8, 65508));
    tc_udp_batch_destroy(NULL);
    tc_udp_batch *b = tc_udp_batch_create(1, 65507);
    assert_non_null(b);
    tc_udp_batch_destroy(b);
}

static void test_held_until_flush(void **state)
{
    (void)state;
    endpoint from = bound_socket(), to = bound_socket();
    tc_udp_batch *b = tc_udp_batch_create(8, 1500);
    for (uint8_t i = 0; i < 5; i++)
        assert_int_equal(add(b, &from, &to, i), 0);
    expect_nothing(&to);
    assert_int_equal(tc_udp_batch_counts_of(b).calls, 0);
    tc_udp_batch_flush(b);
    for (uint8_t i = 0; i < 5; i++)
        expect_datagram(&to, &from, i);
    expect_nothing(&to);
    tc_udp_batch_counts c = tc_udp_batch_counts_of(b);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.datagrams, 5);
    assert_int_equal(c.dropped, 0);
    tc_udp_batch_flush(b); /* nothing held: no call */
    assert_int_equal(tc_udp_batch_counts_of(b).calls, 1);
    tc_udp_batch_destroy(b);
    close(from.fd), close(to.fd);
}

/* A datagram for another socket or address sends the held run first. */
static void test_runs_by_destination(void **state)
{
    (void)state;
    endpoint from1 = bound_socket(), from2 = bound_socket();
    endpoint a = bound_socket(), c = bound_socket();
    tc_udp_batch *b = tc_udp_batch_create(8, 1500);
    for (uint8_t i = 0; i < 3; i++)
        assert_int_equal(add(b, &from1, &a, i), 0);
    assert_int_equal(add(b, &from1, &c, 10), 0); /* another address */
    for (uint8_t i = 0; i < 3; i++)
        expect_datagram(&a, &from1, i);
    expect_nothing(&c);
    assert_int_equal(add(b, &from2, &c, 11), 0); /* same address, another socket */
    expect_datagram(&c, &from1, 10);
    expect_nothing(&c);
    assert_int_equal(add(b, &from2, &c, 12), 0);
    assert_int_equal(add(b, &from2, &a, 13), 0);
    expect_datagram(&c, &from2, 11);
    expect_datagram(&c, &from2, 12);
    tc_udp_batch_flush(b);
    expect_datagram(&a, &from2, 13);
    expect_nothing(&a), expect_nothing(&c);
    tc_udp_batch_counts n = tc_udp_batch_counts_of(b);
    assert_int_equal(n.calls, 4);
    assert_int_equal(n.datagrams, 7);
    tc_udp_batch_destroy(b);
    close(from1.fd), close(from2.fd), close(a.fd), close(c.fd);
}

static void test_full_batch_is_sent(void **state)
{
    (void)state;
    endpoint from = bound_socket(), to = bound_socket();
    tc_udp_batch *b = tc_udp_batch_create(4, 1500);
    for (uint8_t i = 0; i < 10; i++)
        assert_int_equal(add(b, &from, &to, i), 0);
    for (uint8_t i = 0; i < 8; i++) /* two full batches went when the 5th and 9th came */
        expect_datagram(&to, &from, i);
    expect_nothing(&to);
    assert_int_equal(tc_udp_batch_counts_of(b).calls, 2);
    tc_udp_batch_destroy(b); /* the last two go on destroy */
    expect_datagram(&to, &from, 8);
    expect_datagram(&to, &from, 9);
    expect_nothing(&to);
    close(from.fd), close(to.fd);
}

static void test_bad_arguments_hold_nothing(void **state)
{
    (void)state;
    endpoint from = bound_socket(), to = bound_socket();
    tc_udp_batch *b = tc_udp_batch_create(4, 100);
    uint8_t big[101] = {0};
    const struct sockaddr *sa = (const struct sockaddr *)&to.addr;
    assert_int_equal(tc_udp_batch_add(b, from.fd, sa, sizeof to.addr, big, 0), -EINVAL);
    assert_int_equal(tc_udp_batch_add(b, from.fd, sa, sizeof to.addr, big, 101), -E2BIG);
    assert_int_equal(tc_udp_batch_add(b, -1, sa, sizeof to.addr, big, 10), -EINVAL);
    assert_int_equal(tc_udp_batch_add(b, from.fd, NULL, sizeof to.addr, big, 10), -EINVAL);
    assert_int_equal(tc_udp_batch_add(b, from.fd, sa, 0, big, 10), -EINVAL);
    assert_int_equal(
        tc_udp_batch_add(b, from.fd, sa, (socklen_t)sizeof(struct sockaddr_storage) + 1, big, 10),
        -EINVAL);
    assert_int_equal(tc_udp_batch_add(b, from.fd, sa, sizeof to.addr, big, 100), 0);
    tc_udp_batch_flush(b);
    tc_udp_batch_counts c = tc_udp_batch_counts_of(b);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.datagrams, 1);
    tc_udp_batch_destroy(b);
    close(from.fd), close(to.fd);
}

/* The kernel refuses each of these (an IPv6 address on an IPv4 socket): each
 * is dropped and counted, and the batch goes on working. */
static void test_refused_datagrams_are_counted(void **state)
{
    (void)state;
    endpoint from = bound_socket(), to = bound_socket();
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = to.addr.sin_port};
    v6.sin6_addr = in6addr_loopback;
    tc_udp_batch *b = tc_udp_batch_create(8, 1500);
    uint8_t pkt[3] = {1, 2, 3};
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            tc_udp_batch_add(b, from.fd, (const struct sockaddr *)&v6, sizeof v6, pkt, sizeof pkt),
            0);
    assert_int_equal(add(b, &from, &to, 7), 0);
    tc_udp_batch_flush(b);
    expect_datagram(&to, &from, 7);
    expect_nothing(&to);
    tc_udp_batch_counts c = tc_udp_batch_counts_of(b);
    assert_int_equal(c.dropped, 3);
    assert_int_equal(c.datagrams, 1);
    tc_udp_batch_destroy(b);
    close(from.fd), close(to.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_args),
        cmocka_unit_test(test_held_until_flush),
        cmocka_unit_test(test_runs_by_destination),
        cmocka_unit_test(test_full_batch_is_sent),
        cmocka_unit_test(test_bad_arguments_hold_nothing),
        cmocka_unit_test(test_refused_datagrams_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
