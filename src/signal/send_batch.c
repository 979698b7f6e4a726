/*
 * send_batch.c: a BIO that either writes straight to its socket or, while its
 * batch is holding, keeps what it is given; and the pass that sends what the
 * batch's BIOs keep, one io_uring submission for up to SEND_CHUNK sockets.
 *
 * Sends are submitted with MSG_DONTWAIT, which io_uring honours by completing
 * them at once (-EAGAIN when the socket is full) instead of arming a poll: so
 * every completion is there when the submission returns, and nothing the
 * kernel holds points into a BIO after tc_send_batch_send.
 */
#include "telecounter/send_batch.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define METHOD_NAME "tc send batch"
#define RING_ENTRIES 64u
/* A pass sends as soon as this many BIOs hold bytes, not only at its end: the
 * first customers of a fan-out need not wait for the records of the last. */
#define SEND_CHUNK RING_ENTRIES
#define INLINE_BYTES 512u /* a queue update's record is ~130 bytes */
#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

typedef struct held {
    tc_send_batch *batch;
    int fd;
    int error;      /* sticky: the socket's errno once a send failed */
    bool listed;    /* in batch->listed for this pass */
    bool in_flight; /* submitted to the ring, completion not seen */
    tc_send_blocked_fn blocked_fn;
    void *blocked_data;
    unsigned char *buf;   /* inline_buf, or the heap past INLINE_BYTES */
    size_t off, len, cap; /* unsent: buf[off, len) */
    unsigned char inline_buf[INLINE_BYTES];
} held;

struct tc_send_batch {
    int refs;
    bool holding;
    bool has_ring;
    struct io_uring ring;
    BIO_METHOD *method;
    held *listed[SEND_CHUNK]; /* BIOs given bytes while holding; NULL once freed */
    size_t n_listed;
    int left; /* BIOs of this pass left with bytes unsent */
    tc_send_batch_counts counts;
};

/* ---- a BIO's bytes ------------------------------------------------------- */

static size_t unsent(const held *h)
{
    return h->len - h->off;
}

static void forget_unsent(held *h)
{
    if (h->buf != h->inline_buf)
        free(h->buf);
    h->buf = h->inline_buf;
    h->cap = INLINE_BYTES;
    h->off = h->len = 0;
}

static int keep(held *h, const void *data, size_t len)
{
    size_t have = unsent(h);
    if (have + len > TC_SEND_BATCH_HOLD_MAX)
        return -EAGAIN;
    if (h->off > 0) {
        memmove(h->buf, h->buf + h->off, have);
        h->off = 0;
        h->len = have;
    }
    if (h->len + len > h->cap) {
        size_t cap = h->cap * 2 > h->len + len ? h->cap * 2 : h->len + len;
        unsigned char *p = h->buf == h->inline_buf ? malloc(cap) : realloc(h->buf, cap);
        if (!p)
            return -ENOMEM;
        if (h->buf == h->inline_buf)
            memcpy(p, h->inline_buf, h->len);
        h->buf = p;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, data, len);
    h->len += len;
    return 0;
}

/* What a send of the unsent bytes returned (bytes, or a negative errno). */
static void took(held *h, long res)
{
    tc_send_batch_counts *counts = &h->batch->counts;
    if (res > 0) {
        counts->bytes += (uint64_t)res;
        h->off += (size_t)res;
        if (h->off == h->len)
            forget_unsent(h);
    } else if (res < 0 && res != -EAGAIN && res != -EWOULDBLOCK && res != -EINTR) {
        h->error = (int)-res;
        counts->failed++;
        forget_unsent(h);
    }
}

static long send_now(int fd, const void *data, size_t len)
{
    ssize_t n = send(fd, data, len, SEND_FLAGS);
    return n >= 0 ? (long)n : -(long)errno;
}

/* 0 when nothing is left unsent, -EAGAIN, or the socket's error. */
static int send_unsent(held *h)
{
    while (!h->error && unsent(h) > 0) {
        long n = send_now(h->fd, h->buf + h->off, unsent(h));
        took(h, n);
        if (n <= 0 && !h->error)
            return -EAGAIN;
    }
    return h->error ? -h->error : 0;
}

static void send_listed(tc_send_batch *b);

static void list(held *h)
{
    tc_send_batch *b = h->batch;
    if (h->listed)
        return;
    b->listed[b->n_listed++] = h;
    h->listed = true;
    if (b->n_listed == SEND_CHUNK)
        send_listed(b);
}

/* ---- the BIO method ------------------------------------------------------ */

static int bio_write(BIO *bio, const char *data, size_t len, size_t *written)
{
    held *h = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    *written = 0;
    if (!h || h->error)
        return 0;
    if (h->batch->holding) {
        int r = keep(h, data, len);
        if (r == -EAGAIN)
            BIO_set_retry_write(bio);
        if (r != 0)
            return 0;
        list(h);
        *written = len;
        return 1;
    }
    int r = send_unsent(h); /* what waits goes first */
    long n = r == 0 ? send_now(h->fd, data, len) : r;
    if (n > 0) {
        h->batch->counts.bytes += (uint64_t)n;
        *written = (size_t)n;
        return 1;
    }
    if (n == 0 || n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
        BIO_set_retry_write(bio);
    else
        h->error = (int)-n;
    return 0;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    held *h = BIO_get_data(bio);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_GET_CLOSE:
    case BIO_CTRL_SET_CLOSE:
        return 1;
    case BIO_CTRL_WPENDING:
        return h ? (long)unsent(h) : 0;
    default:
        return 0;
    }
}

static void batch_unref(tc_send_batch *b);

static int bio_destroy(BIO *bio)
{
    held *h = BIO_get_data(bio);
    if (!h)
        return 1;
    tc_send_batch *b = h->batch;
    for (size_t i = 0; h->listed && i < b->n_listed; i++)
        if (b->listed[i] == h)
            b->listed[i] = NULL;
    forget_unsent(h);
    free(h);
    BIO_set_data(bio, NULL);
    batch_unref(b);
    return 1;
}

static held *held_of(BIO *bio)
{
    return bio && strcmp(BIO_method_name(bio), METHOD_NAME) == 0 ? BIO_get_data(bio) : NULL;
}

/* ---- the batch ----------------------------------------------------------- */

static bool ring_init(tc_send_batch *b)
{
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_SUBMIT_ALL; /* one failed send does not stop the rest */
    if (io_uring_queue_init_params(RING_ENTRIES, &b->ring, &params) != 0) {
        memset(&params, 0, sizeof params); /* a kernel before 5.18 */
        if (io_uring_queue_init_params(RING_ENTRIES, &b->ring, &params) != 0)
            return false;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&b->ring);
    bool can_send = probe && io_uring_opcode_supported(probe, IORING_OP_SEND);
    io_uring_free_probe(probe);
    if (!can_send)
        io_uring_queue_exit(&b->ring);
    return can_send;
}

tc_send_batch *tc_send_batch_create(bool use_io_uring)
{
    tc_send_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->refs = 1;
    /* One type number for every batch (BIO_get_new_index per batch would run
     * into OpenSSL's type flags after ~250 batches); BIOs are told by name. */
    b->method = BIO_meth_new(BIO_TYPE_SOURCE_SINK, METHOD_NAME);
    if (!b->method || !BIO_meth_set_write_ex(b->method, bio_write) ||
        !BIO_meth_set_ctrl(b->method, bio_ctrl) || !BIO_meth_set_destroy(b->method, bio_destroy)) {
        BIO_meth_free(b->method);
        free(b);
        return NULL;
    }
    b->has_ring = use_io_uring && ring_init(b);
    return b;
}

static void batch_unref(tc_send_batch *b)
{
    if (--b->refs > 0)
        return;
    if (b->has_ring)
        io_uring_queue_exit(&b->ring);
    BIO_meth_free(b->method);
    free(b);
}

void tc_send_batch_destroy(tc_send_batch *b)
{
    if (b)
        batch_unref(b);
}

bool tc_send_batch_uses_io_uring(const tc_send_batch *b)
{
    return b->has_ring;
}

BIO *tc_send_batch_bio(tc_send_batch *b, int fd)
{
    if (fd < 0)
        return NULL;
    held *h = calloc(1, sizeof *h);
    BIO *bio = h ? BIO_new(b->method) : NULL;
    if (!bio) {
        free(h);
        return NULL;
    }
    h->batch = b;
    h->fd = fd;
    h->buf = h->inline_buf;
    h->cap = INLINE_BYTES;
    b->refs++;
    BIO_set_data(bio, h);
    BIO_set_init(bio, 1);
    return bio;
}

void tc_send_batch_on_blocked(BIO *bio, tc_send_blocked_fn fn, void *data)
{
    held *h = held_of(bio);
    if (h) {
        h->blocked_fn = fn;
        h->blocked_data = fn ? data : NULL;
    }
}

void tc_send_batch_hold(tc_send_batch *b)
{
    b->holding = true;
}

/* Waits for the completions of `queued` submitted sends (they complete at
 * submission; see the top of the file). */
static void reap(tc_send_batch *b, unsigned queued)
{
    for (unsigned seen = 0; seen < queued; seen++) {
        struct io_uring_cqe *cqe;
        if (io_uring_wait_cqe(&b->ring, &cqe) != 0)
            break;
        held *h = io_uring_cqe_get_data(cqe);
        h->in_flight = false;
        took(h, cqe->res);
        io_uring_cqe_seen(&b->ring, cqe);
    }
}

/* After a failed submission: the SQEs it left are never submitted; what
 * completed was reaped before this. */
static void give_up_ring(tc_send_batch *b)
{
    io_uring_queue_exit(&b->ring);
    b->has_ring = false;
}

/* One submission for every listed BIO (at most SEND_CHUNK). A ring that
 * fails is given up for good: the sends it did not take go by send(2). */
static void send_by_ring(tc_send_batch *b)
{
    unsigned queued = 0;
    for (size_t i = 0; i < b->n_listed; i++) {
        held *h = b->listed[i];
        if (!h || h->error || unsent(h) == 0)
            continue;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
        io_uring_prep_send(sqe, h->fd, h->buf + h->off, unsent(h), SEND_FLAGS);
        io_uring_sqe_set_data(sqe, h);
        h->in_flight = true;
        b->counts.sends++;
        queued++;
    }
    unsigned submitted = 0;
    bool failed = false;
    for (int tries = 0; submitted < queued && !failed; tries++) {
        int r = io_uring_submit(&b->ring);
        b->counts.system_calls++;
        if (r > 0)
            submitted += (unsigned)r;
        else
            failed = tries >= 3 || (r != -EINTR && r != -EAGAIN && r != -EBUSY);
    }
    reap(b, submitted);
    if (failed)
        give_up_ring(b);
    for (size_t i = 0; i < b->n_listed; i++) {
        held *h = b->listed[i];
        if (h && h->in_flight) { /* the ring failed before taking it */
            h->in_flight = false;
            took(h, send_now(h->fd, h->buf + h->off, unsent(h)));
            b->counts.system_calls++;
        }
    }
}

static void send_each(tc_send_batch *b)
{
    for (size_t i = 0; i < b->n_listed; i++) {
        held *h = b->listed[i];
        if (!h || h->error || unsent(h) == 0)
            continue;
        took(h, send_now(h->fd, h->buf + h->off, unsent(h)));
        b->counts.sends++;
        b->counts.system_calls++;
    }
}

/* Sends what the listed BIOs hold and empties the list. The blocked callbacks
 * only ask lws for a writeable callback: they free no BIO and list none. */
static void send_listed(tc_send_batch *b)
{
    if (b->has_ring)
        send_by_ring(b);
    else
        send_each(b);
    for (size_t i = 0; i < b->n_listed; i++) {
        held *h = b->listed[i];
        if (!h)
            continue; /* freed since it was listed */
        h->listed = false;
        b->listed[i] = NULL;
        if (!h->error && unsent(h) == 0)
            continue;
        b->left++;
        if (!h->error)
            b->counts.blocked++;
        if (h->blocked_fn)
            h->blocked_fn(h->blocked_data);
    }
    b->n_listed = 0;
}

int tc_send_batch_send(tc_send_batch *b)
{
    send_listed(b);
    b->holding = false;
    int left = b->left;
    b->left = 0;
    return left;
}

int tc_send_batch_resume(BIO *bio)
{
    held *h = held_of(bio);
    return h ? send_unsent(h) : -EINVAL;
}

size_t tc_send_batch_unsent(BIO *bio)
{
    held *h = held_of(bio);
    return h ? unsent(h) : 0;
}

tc_send_batch_counts tc_send_batch_counts_of(const tc_send_batch *b)
{
    return b->counts;
}
