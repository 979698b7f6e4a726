/*
 * udp_batch: datagrams held for a moment and handed to the kernel together,
 * one sendmmsg(2) for each run of datagrams to the same socket and address.
 *
 * Why: on the relay's hot path a system call costs more than the work the
 * kernel does for a small UDP send (see README "Benchmarks"), and a video
 * frame arrives as a burst of packets that all go out to the same peer. A
 * media worker adds each protected packet here instead of sending it, and
 * flushes before its loop waits for the next wake-up, so under load a burst
 * leaves in one call, and when idle a packet waits for nothing but the end of
 * the dispatch that made it.
 *
 * A run ends, and is sent, when the next datagram is for another socket or
 * address, when the batch is full, or at tc_udp_batch_flush. Datagrams leave
 * in the order added. A datagram the kernel refuses (a full socket buffer, an
 * ICMP error reported on the socket) is dropped and counted; the rest of its
 * run is still sent.
 *
 * Thread: one media worker owns a batch (it is not locked). Ownership: add
 * copies the datagram; the batch allocates only at create.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct tc_udp_batch tc_udp_batch;

/* slots: how many datagrams are held at most (1 to 1024); max_len: the
 * largest datagram (1 to 65507). NULL on bad arguments or out of memory. */
tc_udp_batch *tc_udp_batch_create(size_t slots, size_t max_len);
/* Flushes what is held, then frees. NULL is fine. */
void tc_udp_batch_destroy(tc_udp_batch *b);

/* Holds a copy of data for fd, to `to`. Sends the held run first when this
 * one is for another socket or address, and the batch when it is full.
 * Returns 0, or -E2BIG (len over max_len), -EINVAL (len 0, fd < 0, or an
 * address over sizeof(struct sockaddr_storage)); then nothing is held. */
int tc_udp_batch_add(tc_udp_batch *b, int fd, const struct sockaddr *to, socklen_t to_len,
                     const uint8_t *data, size_t len);
/* Sends everything held. Call before waiting for input, and before a socket
 * that has datagrams held is closed. */
void tc_udp_batch_flush(tc_udp_batch *b);

typedef struct tc_udp_batch_counts {
    uint64_t datagrams; /* handed to the kernel and accepted */
    uint64_t dropped;   /* refused by the kernel */
    uint64_t calls;     /* sendmmsg calls made */
} tc_udp_batch_counts;
tc_udp_batch_counts tc_udp_batch_counts_of(const tc_udp_batch *b);
