/*
 * udp_batch.c: a run of datagrams to one socket and address, sent with one
 * sendmmsg. Held datagrams always share their destination (a datagram for
 * another one sends the run first), so the batch is that one run.
 */
#include "telecounter/udp_batch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

struct tc_udp_batch {
    size_t slots, max_len, held;
    int fd;
    struct sockaddr_storage to;
    socklen_t to_len;
    struct mmsghdr *msgs;
    struct iovec *iov;
    uint8_t *store; /* slots * max_len */
    tc_udp_batch_counts counts;
};

tc_udp_batch *tc_udp_batch_create(size_t slots, size_t max_len)
{
    if (slots < 1 || slots > 1024 || max_len < 1 || max_len > 65507)
        return NULL;
    tc_udp_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->slots = slots;
    b->max_len = max_len;
    b->fd = -1;
    b->msgs = calloc(slots, sizeof *b->msgs);
    b->iov = calloc(slots, sizeof *b->iov);
    b->store = malloc(slots * max_len);
    if (!b->msgs || !b->iov || !b->store) {
        tc_udp_batch_destroy(b);
        return NULL;
    }
    for (size_t i = 0; i < slots; i++) {
        b->iov[i].iov_base = b->store + i * max_len;
        b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
        b->msgs[i].msg_hdr.msg_iovlen = 1;
        b->msgs[i].msg_hdr.msg_name = &b->to;
    }
    return b;
}

void tc_udp_batch_destroy(tc_udp_batch *b)
{
    if (!b)
        return;
    if (b->msgs && b->iov && b->store)
        tc_udp_batch_flush(b);
    free(b->msgs);
    free(b->iov);
    free(b->store);
    free(b);
}

/* The kernel refuses a datagram: a full send buffer refuses the rest of the
 * run as well; anything else (an ICMP error reported once) only this one. */
static size_t refused_count(int err, size_t left)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS ? left : 1;
}

void tc_udp_batch_flush(tc_udp_batch *b)
{
    size_t n = b->held, i = 0;
    b->held = 0;
    while (i < n) {
        int sent = sendmmsg(b->fd, b->msgs + i, (unsigned)(n - i), 0);
        b->counts.calls++;
        if (sent > 0) {
            i += (size_t)sent;
            b->counts.datagrams += (uint64_t)sent;
        } else if (sent < 0 && errno == EINTR) {
            continue;
        } else {
            size_t refused = refused_count(sent < 0 ? errno : EAGAIN, n - i);
            i += refused;
            b->counts.dropped += refused;
        }
    }
}

static bool same_destination(const tc_udp_batch *b, int fd, const struct sockaddr *to,
                             socklen_t to_len)
{
    return b->fd == fd && b->to_len == to_len && memcmp(&b->to, to, to_len) == 0;
}

int tc_udp_batch_add(tc_udp_batch *b, int fd, const struct sockaddr *to, socklen_t to_len,
                     const uint8_t *data, size_t len)
{
    if (len == 0 || fd < 0 || !to || to_len == 0 || to_len > sizeof b->to)
        return -EINVAL;
    if (len > b->max_len)
        return -E2BIG;
    if (b->held && (b->held == b->slots || !same_destination(b, fd, to, to_len)))
        tc_udp_batch_flush(b);
    if (!b->held) {
        b->fd = fd;
        memcpy(&b->to, to, to_len);
        b->to_len = to_len;
    }
    memcpy(b->iov[b->held].iov_base, data, len);
    b->iov[b->held].iov_len = len;
    b->msgs[b->held].msg_hdr.msg_namelen = to_len;
    b->held++;
    return 0;
}

tc_udp_batch_counts tc_udp_batch_counts_of(const tc_udp_batch *b)
{
    return b->counts;
}
