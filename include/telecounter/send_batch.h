/*
 * send_batch: what TLS connections write in one pass, held and handed to the
 * kernel together, one io_uring submission for many sockets.
 *
 * Why: a queue fan-out writes one small record to each of 2,000 sockets, and
 * on this hypervisor the write(2) of a small record costs twice the kernel's
 * work for it (README "Benchmarks", queue fan-out). Each connection's OpenSSL
 * object writes through a BIO made here instead of its socket BIO. Between
 * tc_send_batch_hold and tc_send_batch_send the BIOs keep what they are given,
 * and each time 64 of them hold bytes those 64 sends go in one submission
 * (the rest at tc_send_batch_send): batched, yet the first connections of a
 * long pass do not wait for the records of the last. Outside
 * that window a BIO writes straight to its socket, as a socket BIO would, so
 * lws's own writes (pings, close frames, its buffered output) and OpenSSL's
 * (alerts, close_notify) go out at once, in order.
 *
 * What the kernel does not take stays in the BIO and goes before anything
 * written later: the BIO calls its owner's blocked callback (after each send
 * that left bytes), the owner waits until the socket is writable (lws's writeable
 * callback) and calls tc_send_batch_resume. While bytes wait, a direct write
 * reports "retry" (OpenSSL's SSL_ERROR_WANT_WRITE, which lws handles by
 * buffering). A BIO holds at most TC_SEND_BATCH_HOLD_MAX bytes; past that it
 * reports "retry" too. A socket error is sticky: every later write fails.
 *
 * Without io_uring (the kernel or a sandbox refuses it, or the config turns
 * it off) the batch sends with one send(2) per connection: same behaviour,
 * more system calls.
 *
 * Thread: one thread owns a batch and its BIOs (nothing is locked).
 * Ownership: a BIO holds a reference on its batch; the batch is freed when it
 * is destroyed and its last BIO is freed. The BIO is owned by whoever it is
 * given to (SSL_set0_wbio takes it); its socket is not (the BIO never closes
 * it, and never writes after BIO_free).
 */
#pragma once

#include <openssl/bio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC_SEND_BATCH_HOLD_MAX (256u << 10)

typedef struct tc_send_batch tc_send_batch;

/* Called when bytes of this BIO stay unsent after a send, or a send failed:
 * the owner should call tc_send_batch_resume once the socket is writable.
 * Called while the batch holds (from a write to any of its BIOs) or from
 * tc_send_batch_send; it must not write, nor free a BIO. */
typedef void (*tc_send_blocked_fn)(void *data);

/* use_io_uring false, or io_uring unavailable: one send(2) per connection.
 * NULL when out of memory. */
tc_send_batch *tc_send_batch_create(bool use_io_uring);
/* Drops the caller's reference; BIOs still alive keep the rest. NULL is fine. */
void tc_send_batch_destroy(tc_send_batch *b);
bool tc_send_batch_uses_io_uring(const tc_send_batch *b);

/* A new BIO writing to fd (a connected, non-blocking stream socket). NULL
 * when out of memory or fd < 0. */
BIO *tc_send_batch_bio(tc_send_batch *b, int fd);
/* Sets, or with fn NULL clears, the BIO's blocked callback. */
void tc_send_batch_on_blocked(BIO *bio, tc_send_blocked_fn fn, void *data);

/* From now until tc_send_batch_send, the batch's BIOs hold what they are given. */
void tc_send_batch_hold(tc_send_batch *b);
/* Sends everything still held (one submission, or one send each) and ends
 * holding. Returns how many sends of this pass left bytes unsent. */
int tc_send_batch_send(tc_send_batch *b);

/* Sends what this BIO still holds, now. 0: nothing left; -EAGAIN: the socket
 * took only part (call again when writable); another negative errno: the
 * socket failed (also for a BIO not made here). */
int tc_send_batch_resume(BIO *bio);
/* Bytes the BIO holds unsent; 0 for a BIO not made here. */
size_t tc_send_batch_unsent(BIO *bio);

typedef struct tc_send_batch_counts {
    uint64_t bytes;        /* taken by the kernel */
    uint64_t sends;        /* sends of held bytes (a BIO's bytes of one submission) */
    uint64_t system_calls; /* io_uring_enter or send(2) calls for those sends */
    uint64_t blocked;      /* sends the kernel took only part of, or none */
    uint64_t failed;       /* sends that failed with an error */
} tc_send_batch_counts;
tc_send_batch_counts tc_send_batch_counts_of(const tc_send_batch *b);
