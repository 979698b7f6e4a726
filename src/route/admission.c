/*
 * admission.c: how many customer sessions one client address may hold open and
 * start (issue 12: 20 connections from one address made 14,675 sessions in 30 s,
 * and a real customer stood behind all of them). Per address: at most
 * limits.sessions_per_address open sessions, and at most limits.joins_per_minute
 * new ones a minute (fixed windows). Both are generous by default, as a carrier
 * NAT puts many real customers behind one address.
 *
 * At the open limit, a session of that address whose connection dropped and
 * that was never offered to an agent gives its place to the new one (it ends
 * abandoned now, not at the end of its resume window): a flood of join-and-drop
 * cannot hold places, and a real customer who lost the page simply starts again.
 */
#include "router_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

typedef struct tc_addr_use {
    int open;  /* sessions not ended */
    int joins; /* started in the current window */
    int64_t window_end;
} tc_addr_use;

static tc_addr_use *use_of(tc_router *r, const char *addr, bool create)
{
    tc_addr_use *u = g_hash_table_lookup(r->by_addr, addr);
    if (!u && create) {
        u = g_new0(tc_addr_use, 1);
        g_hash_table_insert(r->by_addr, g_strdup(addr), u);
    }
    return u;
}

/* The oldest dropped, never-offered, queued session of the address, or NULL. */
static tc_session *stale_session(tc_router *r, const char *addr)
{
    tc_session *oldest = NULL;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_session *s = value;
        if (s->state == TC_SESSION_QUEUED && !s->connected && s->failed_rings == 0 &&
            strcmp(s->addr, addr) == 0 && (!oldest || s->queued_at < oldest->queued_at))
            oldest = s;
    }
    return oldest;
}

int tc_admission_check(tc_router *r, const char *addr, int64_t now, int *retry_after_s)
{
    int ignored;
    if (!retry_after_s)
        retry_after_s = &ignored;
    tc_addr_use *u = use_of(r, addr, false);
    if (!u)
        return 0;
    if (now < u->window_end && u->joins >= r->cfg->joins_per_minute) {
        *retry_after_s = (int)((u->window_end - now + 999) / 1000);
        tc_info("admission: %s started %d sessions this minute", addr, u->joins);
        return -EBUSY;
    }
    if (u->open < r->cfg->sessions_per_address)
        return 0;
    tc_session *stale = stale_session(r, addr);
    if (stale) {
        tc_info("session %" PRId64 ": gives its place to a new one from the same address",
                stale->id);
        tc_router_session_finish(r, stale, TC_END_ABANDONED, now);
        return 0;
    }
    *retry_after_s = 60;
    tc_info("admission: %s holds %d open sessions", addr, u->open);
    return -EBUSY;
}

void tc_admission_opened(tc_router *r, const char *addr, int64_t now)
{
    tc_addr_use *u = use_of(r, addr, true);
    if (now >= u->window_end) {
        u->joins = 0;
        u->window_end = now + 60 * 1000;
    }
    u->joins++;
    u->open++;
}

void tc_admission_closed(tc_router *r, const char *addr)
{
    tc_addr_use *u = use_of(r, addr, false);
    if (u && u->open > 0)
        u->open--;
}

void tc_admission_tick(tc_router *r, int64_t now)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->by_addr);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_addr_use *u = value;
        if (u->open == 0 && now >= u->window_end)
            g_hash_table_iter_remove(&it);
    }
}
