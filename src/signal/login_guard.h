/*
 * login_guard: who may try a password now. Failed logins are counted per client
 * address and per account over a window; past the limit, further tries are
 * refused without the Argon2id check (with the seconds until they may try again).
 * An account's own limit does not lock it out from an address where it logged in
 * before ("trusted"), so a flood of wrong passwords from elsewhere cannot keep a
 * known agent out. The KDF queue is bounded for everybody else: when it is full,
 * untrusted tries are shed first (see accounts.c).
 *
 * Pure over time passed in; control thread only. Private to src/signal/.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct tc_login_guard tc_login_guard;

typedef struct tc_login_limits {
    int max_failures; /* per address in window_s; an account gets twice this */
    int window_s;
    int trust_days; /* how long a successful (account, address) stays trusted */
} tc_login_limits;

tc_login_guard *tc_login_guard_create(const tc_login_limits *limits);
void tc_login_guard_destroy(tc_login_guard *g); /* NULL does nothing */

/* 0 if a try from addr at account_id (0: no such account) may go on; -EBUSY with
 * *retry_after_s (>= 1) if not. */
int tc_login_guard_check(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now,
                         int *retry_after_s);
bool tc_login_guard_trusted(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now);
void tc_login_guard_failed(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now);
/* Clears the address's failures and trusts the pair. */
void tc_login_guard_succeeded(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now);
/* Forgets windows and trust that have run out. */
void tc_login_guard_prune(tc_login_guard *g, int64_t now);
