/*
 * invites.c: issuing and redeeming invite codes, and the two lockouts.
 *
 * Every failure looks the same to the customer (-ENOENT), and costs the same:
 * nothing is written to the store on a failure, so a wrong secret behind a live
 * locator answers as fast as an unknown locator (issue 12: the failure-count write
 * made live locators visible by timing). Anonymous guessing never destroys a
 * customer's code: wrong guesses at a live code are counted in memory and, at
 * invites.max_attempts, reported once to ops (log and audit, from the tick, off
 * the reply's path); the code stays valid. What protects a code is its 40-bit
 * secret, its short life and the per-address throttle (after
 * invites.address_failures within invites.address_window_s); docs/protocol.md
 * ("Invite codes") has the arithmetic.
 * Redemption is a single conditional UPDATE in the store, so of two customers
 * redeeming one code exactly one wins.
 */
#include "router_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Failure times of one address, a ring as long as the configured limit. */
typedef struct tc_addr_failures {
    int count, next;
    int64_t at[];
} tc_addr_failures;

void tc_addr_failures_free(gpointer p)
{
    g_free(p);
}

static tc_addr_failures *failures_of(tc_router *r, const char *addr, bool create)
{
    tc_addr_failures *f = g_hash_table_lookup(r->failures, addr);
    if (!f && create) {
        f = g_malloc0(sizeof *f + sizeof f->at[0] * (size_t)r->cfg->invite_address_failures);
        g_hash_table_insert(r->failures, g_strdup(addr), f);
    }
    return f;
}

/* Seconds until the address may try again; 0 = now. */
static int throttled_for(tc_router *r, const char *addr, int64_t now)
{
    tc_addr_failures *f = failures_of(r, addr, false);
    int limit = r->cfg->invite_address_failures;
    if (!f || f->count < limit)
        return 0;
    int64_t oldest = f->at[f->next]; /* the ring is full: next is the oldest */
    int64_t free_at = oldest + (int64_t)r->cfg->invite_address_window_s * 1000;
    return free_at > now ? (int)((free_at - now + 999) / 1000) : 0;
}

static void count_failure(tc_router *r, const char *addr, int64_t now)
{
    tc_addr_failures *f = failures_of(r, addr, true);
    f->at[f->next] = now;
    f->next = (f->next + 1) % r->cfg->invite_address_failures;
    if (f->count < r->cfg->invite_address_failures)
        f->count++;
}

/* Wrong guesses at one live code, in memory: for ops, never against the code. */
typedef struct tc_code_guesses {
    int count;
    int64_t first_at;
    bool reported;
} tc_code_guesses;

static void count_guess(tc_router *r, int64_t invite_id, int64_t now)
{
    tc_code_guesses *g = tc_id_table_get(r->guesses, invite_id);
    if (!g) {
        g = g_new0(tc_code_guesses, 1);
        g->first_at = now;
        tc_id_table_put(r->guesses, invite_id, g);
    }
    g->count++;
}

/* Reports codes guessed at max_attempts times (once each), forgets old counts. */
static void report_guesses(tc_router *r, int64_t now)
{
    int64_t window_ms = (int64_t)r->cfg->invite_address_window_s * 1000;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->guesses);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_code_guesses *g = value;
        int64_t id = *(const int64_t *)key;
        if (!g->reported && g->count >= r->cfg->invite_max_attempts) {
            g->reported = true;
            tc_warn("invite %" PRId64 ": %d wrong guesses at it (it stays valid)", id, g->count);
            char detail[64];
            snprintf(detail, sizeof detail, "{\"invite_id\":%" PRId64 ",\"guesses\":%d}", id,
                     g->count);
            tc_store_audit(r->store, now, 0, 0, "invite_guessed", detail);
        }
        if (now - g->first_at > window_ms && g->reported)
            g_hash_table_iter_remove(&it);
    }
}

void tc_invites_tick(tc_router *r, int64_t now)
{
    report_guesses(r, now);
    int64_t window_ms = (int64_t)r->cfg->invite_address_window_s * 1000;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->failures);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_addr_failures *f = value;
        int newest =
            (f->next + r->cfg->invite_address_failures - 1) % r->cfg->invite_address_failures;
        if (now - f->at[newest] > window_ms)
            g_hash_table_iter_remove(&it);
    }
}

int tc_router_invite_create(tc_router *r, int64_t issuer_id, const char *desk, const char *case_ref,
                            const char *note, int valid_s, int64_t now, char code_out[16],
                            int64_t *expires_at_out)
{
    if (tc_config_desk_index(r->cfg, desk) < 0)
        return -ENOENT;
    if (valid_s == 0)
        valid_s = r->cfg->invite_validity_s;
    if (valid_s < 0 || valid_s > r->cfg->invite_max_validity_s)
        return -EINVAL;
    int64_t expires_at = now + (int64_t)valid_s * 1000;
    char canon[TC_INVITE_SYMBOLS + 1];
    uint8_t locator_hash[TC_INVITE_HASH_LEN], code_hash[TC_INVITE_HASH_LEN];
    tc_invite_row live;
    /* Locators of live codes must differ, or a guess would be counted against the
     * wrong one; with 31^4 locators a clash is rare, so a few draws suffice. */
    for (int tries = 0;; tries++) {
        tc_invite_generate(code_out);
        tc_invite_normalize(code_out, strlen(code_out), canon);
        tc_invite_hash(r->invite_key, canon, locator_hash, code_hash);
        int rc = tc_store_invite_find_live(r->store, locator_hash, now, r->cfg->invite_max_attempts,
                                           &live);
        if (rc == -ENOENT)
            break;
        if (rc != 0 || tries == 8)
            return rc ? rc : -EIO;
    }
    int64_t id;
    int rc = tc_store_invite_add(r->store, locator_hash, code_hash, desk, case_ref,
                                 note ? note : "", issuer_id, now, expires_at, &id);
    if (rc)
        return rc;
    tc_store_audit(r->store, now, 0, issuer_id, "invite_issued", NULL);
    tc_info("invite %" PRId64 ": issued for %s, valid %d s", id, desk, valid_s);
    *expires_at_out = expires_at;
    return 0;
}

/* Checks the code; on success *row is the live invite, now redeemed. */
static int check_code(tc_router *r, const char *code, size_t len, int64_t now, tc_invite_row *row)
{
    char canon[TC_INVITE_SYMBOLS + 1];
    uint8_t locator_hash[TC_INVITE_HASH_LEN], code_hash[TC_INVITE_HASH_LEN];
    if (tc_invite_normalize(code, len, canon) != 0)
        return -ENOENT;
    tc_invite_hash(r->invite_key, canon, locator_hash, code_hash);
    int rc =
        tc_store_invite_find_live(r->store, locator_hash, now, r->cfg->invite_max_attempts, row);
    if (rc)
        return rc == -ENOENT ? -ENOENT : rc;
    if (!tc_invite_hash_equal(row->code_hash, code_hash)) {
        count_guess(r, row->id, now);
        return -ENOENT;
    }
    rc = tc_store_invite_redeem(r->store, row->id, now, r->cfg->invite_max_attempts);
    return rc == -EALREADY ? -ENOENT : rc;
}

int tc_router_customer_redeem(tc_router *r, const char *code, size_t code_len,
                              const char *client_addr, int64_t now, tc_join_result *out,
                              int *retry_after_s)
{
    int wait_s = throttled_for(r, client_addr, now);
    if (wait_s > 0) {
        *retry_after_s = wait_s;
        return -EBUSY;
    }
    int rc = tc_admission_check(r, client_addr, now, retry_after_s);
    if (rc)
        return rc;
    tc_invite_row row;
    rc = check_code(r, code, code_len, now, &row);
    if (rc == -ENOENT) {
        count_failure(r, client_addr, now);
        tc_info("invite: failed redemption from %s", client_addr);
        return -ENOENT;
    }
    if (rc)
        return rc;
    int desk = tc_config_desk_index(r->cfg, row.desk);
    if (desk < 0) {
        tc_warn("invite %" PRId64 ": desk %s is no longer configured", row.id, row.desk);
        return -ENOENT;
    }
    rc = tc_router_session_start(r, client_addr, desk, 1, row.id, row.case_ref, row.note, now, out);
    if (rc == 0)
        tc_store_audit(r->store, now, out->session.id, 0, "invite_redeemed", NULL);
    return rc;
}
