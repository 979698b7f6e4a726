/*
 * login_guard.c: counters of failed logins in fixed windows (see the header).
 * A window starts at the first failure and lasts window_s; the count and the
 * refusal end with it. Fixed windows are simple to reason about and enough here:
 * an attacker gets at most max_failures tries per address per window.
 */
#include "login_guard.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>

typedef struct failures {
    int count;
    int64_t window_end;
} failures;

struct tc_login_guard {
    tc_login_limits limits;
    GHashTable *by_addr;    /* address -> failures (both owned) */
    GHashTable *by_account; /* "id" -> failures */
    GHashTable *trusted;    /* "id address" -> int64 ms of trust's end, boxed */
};

tc_login_guard *tc_login_guard_create(const tc_login_limits *limits)
{
    tc_login_guard *g = g_new0(tc_login_guard, 1);
    g->limits = *limits;
    g->by_addr = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g->by_account = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g->trusted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return g;
}

void tc_login_guard_destroy(tc_login_guard *g)
{
    if (!g)
        return;
    g_hash_table_destroy(g->by_addr);
    g_hash_table_destroy(g->by_account);
    g_hash_table_destroy(g->trusted);
    g_free(g);
}

static void account_key(char *out, size_t len, int64_t account_id)
{
    snprintf(out, len, "%" G_GINT64_FORMAT, account_id);
}

static void pair_key(char *out, size_t len, const char *addr, int64_t account_id)
{
    snprintf(out, len, "%" G_GINT64_FORMAT " %s", account_id, addr);
}

/* Seconds until the window ends if it is past its limit, else 0. */
static int refused_for(GHashTable *t, const char *key, int limit, int64_t now)
{
    failures *f = g_hash_table_lookup(t, key);
    if (!f || now >= f->window_end || f->count < limit)
        return 0;
    int64_t s = (f->window_end - now + 999) / 1000;
    return s > 0 ? (int)s : 1;
}

bool tc_login_guard_trusted(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now)
{
    if (!account_id)
        return false;
    char key[96];
    pair_key(key, sizeof key, addr, account_id);
    const int64_t *until = g_hash_table_lookup(g->trusted, key);
    return until && now < *until;
}

int tc_login_guard_check(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now,
                         int *retry_after_s)
{
    int wait_s = refused_for(g->by_addr, addr, g->limits.max_failures, now);
    if (!wait_s && account_id && !tc_login_guard_trusted(g, addr, account_id, now)) {
        char key[32];
        account_key(key, sizeof key, account_id);
        wait_s = refused_for(g->by_account, key, 2 * g->limits.max_failures, now);
    }
    if (!wait_s)
        return 0;
    *retry_after_s = wait_s;
    return -EBUSY;
}

static void count(GHashTable *t, const char *key, int window_s, int64_t now)
{
    failures *f = g_hash_table_lookup(t, key);
    if (!f) {
        f = g_new0(failures, 1);
        g_hash_table_insert(t, g_strdup(key), f);
    }
    if (now >= f->window_end) {
        f->count = 0;
        f->window_end = now + (int64_t)window_s * 1000;
    }
    f->count++;
}

void tc_login_guard_failed(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now)
{
    count(g->by_addr, addr, g->limits.window_s, now);
    if (account_id) {
        char key[32];
        account_key(key, sizeof key, account_id);
        count(g->by_account, key, g->limits.window_s, now);
    }
}

void tc_login_guard_succeeded(tc_login_guard *g, const char *addr, int64_t account_id, int64_t now)
{
    g_hash_table_remove(g->by_addr, addr);
    char key[96];
    pair_key(key, sizeof key, addr, account_id);
    int64_t *until = g_new(int64_t, 1);
    *until = now + (int64_t)g->limits.trust_days * 86400 * 1000;
    g_hash_table_replace(g->trusted, g_strdup(key), until);
}

static gboolean window_over(gpointer key, gpointer value, gpointer user)
{
    (void)key;
    return *(const int64_t *)user >= ((failures *)value)->window_end;
}

static gboolean trust_over(gpointer key, gpointer value, gpointer user)
{
    (void)key;
    return *(const int64_t *)user >= *(int64_t *)value;
}

void tc_login_guard_prune(tc_login_guard *g, int64_t now)
{
    g_hash_table_foreach_remove(g->by_addr, window_over, &now);
    g_hash_table_foreach_remove(g->by_account, window_over, &now);
    g_hash_table_foreach_remove(g->trusted, trust_over, &now);
}
