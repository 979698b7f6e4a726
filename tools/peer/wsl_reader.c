/*
 * wsl_reader.c: one slot of READ_SLOT bytes per event; recv with MSG_DONTWAIT
 * completes at submission (-EAGAIN when there is nothing), so the completions
 * are all there when io_uring_submit_and_wait returns.
 */
#include "wsl_reader.h"

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define READ_SLOT 16384 /* as much as ws_lean reads itself */

struct tc_wsl_reader {
    int max_events;
    bool has_ring;
    struct io_uring ring;
    uint8_t *slots; /* max_events * READ_SLOT */
};

tc_wsl_reader *tc_wsl_reader_create(int max_events)
{
    if (max_events < 1 || max_events > 4096)
        return NULL;
    tc_wsl_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->max_events = max_events;
    r->slots = malloc((size_t)max_events * READ_SLOT);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    r->has_ring = io_uring_queue_init((unsigned)max_events, &r->ring, 0) == 0;
    return r;
}

void tc_wsl_reader_destroy(tc_wsl_reader *r)
{
    if (!r)
        return;
    if (r->has_ring)
        io_uring_queue_exit(&r->ring);
    free(r->slots);
    free(r);
}

bool tc_wsl_reader_uses_io_uring(const tc_wsl_reader *r)
{
    return r->has_ring;
}

static void read_all(tc_wsl_reader *r, const struct epoll_event *ev, int n)
{
    unsigned queued = 0;
    for (int i = 0; i < n; i++) {
        tc_wsl *c = ev[i].data.ptr;
        if (!tc_wsl_wants_read(c, ev[i].events))
            continue;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
        if (!sqe)
            break; /* cannot happen: the ring has max_events entries */
        io_uring_prep_recv(sqe, tc_wsl_fd(c), r->slots + (size_t)i * READ_SLOT, READ_SLOT,
                           MSG_DONTWAIT);
        io_uring_sqe_set_data(sqe, (void *)(uintptr_t)i);
        queued++;
    }
    if (queued == 0)
        return;
    int submitted = io_uring_submit_and_wait(&r->ring, queued);
    if (submitted < (int)queued)
        r->has_ring = false; /* what it did not take must never be submitted later */
    for (int seen = 0; seen < submitted; seen++) {
        struct io_uring_cqe *cqe;
        if (io_uring_wait_cqe(&r->ring, &cqe) != 0)
            break;
        int i = (int)(uintptr_t)io_uring_cqe_get_data(cqe);
        tc_wsl_feed(ev[i].data.ptr, r->slots + (size_t)i * READ_SLOT, cqe->res);
        io_uring_cqe_seen(&r->ring, cqe);
    }
}

void tc_wsl_reader_handle(tc_wsl_reader *r, const struct epoll_event *ev, int n)
{
    if (n > r->max_events)
        n = r->max_events;
    if (r->has_ring)
        read_all(r, ev, n); /* a socket not read here is read by tc_wsl_handle */
    for (int i = 0; i < n; i++)
        tc_wsl_handle(ev[i].data.ptr, ev[i].events);
}
