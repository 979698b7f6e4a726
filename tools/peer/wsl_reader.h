/*
 * wsl_reader: reads the sockets of a batch of ws_lean connections with one
 * io_uring submission, then handles each connection's events.
 *
 * Why: a benchmark client that reads 2,000 sockets with one read(2) each pays
 * for 2,000 system calls, and under this VM's hypervisor that is most of its
 * CPU per message (README "Benchmarks", queue fan-out). Without io_uring it
 * falls back to tc_wsl_handle's own read per connection.
 *
 * Thread: the caller's, the one that owns the connections and their epoll set.
 */
#pragma once

#include "ws_lean.h"

#include <stdbool.h>
#include <sys/epoll.h>

typedef struct tc_wsl_reader tc_wsl_reader;

/* max_events: the most events one tc_wsl_reader_handle gets (1 to 4096).
 * Never NULL for lack of io_uring (see tc_wsl_reader_uses_io_uring); NULL when
 * out of memory or for a bad max_events. */
tc_wsl_reader *tc_wsl_reader_create(int max_events);
void tc_wsl_reader_destroy(tc_wsl_reader *r);
bool tc_wsl_reader_uses_io_uring(const tc_wsl_reader *r);

/* Handles n events of epoll_wait whose data.ptr is a tc_wsl: first one
 * submission that reads every socket an event says is readable, then
 * tc_wsl_handle for each, in order. */
void tc_wsl_reader_handle(tc_wsl_reader *r, const struct epoll_event *ev, int n);
