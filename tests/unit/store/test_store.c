/*
 * Unit tests of the SQLite store: each test gets its own fresh database file
 * in /tmp (removed afterwards, with its -wal and -shm files). A few checks
 * look at the file with sqlite3 directly, because what they check (schema
 * version, WAL, append-only audit) is the store's own promise about its file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store_internal.h"
#include "telecounter/random.h"
#include "telecounter/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1700000000000LL /* a wall-clock time in ms */
#define MAX_ATTEMPTS 5

typedef struct fixture {
    char path[64];
    tc_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->path, sizeof f->path, "/tmp/tc-store-test-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0) {
        free(f);
        return -1;
    }
    close(fd);
    f->s = tc_store_open(f->path);
    *state = f;
    return f->s ? 0 : -1;
}

static void remove_db(const char *path)
{
    char side[160];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static int teardown(void **state)
{
    fixture *f = *state;
    tc_store_close(f->s);
    remove_db(f->path);
    free(f);
    return 0;
}

static void reopen(fixture *f)
{
    tc_store_close(f->s);
    f->s = tc_store_open(f->path);
    assert_non_null(f->s);
}

static int64_t pragma_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int exec_raw(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static void hash_of(uint8_t b, uint8_t out[32])
{
    memset(out, b, 32);
}

/* ---- open and migrations --------------------------------------------------- */

static void test_migrate_fresh_and_reopen(void **state)
{
    fixture *f = *state;
    assert_int_equal(tc_store_schema_version(f->s), 1);
    assert_int_equal(pragma_int(f->path, "PRAGMA user_version"), 1);
    assert_int_equal(pragma_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                         " AND name IN ('accounts', 'invites', 'sessions',"
                                         " 'audit', 'evidence', 'secrets')"),
                     6);
    assert_int_equal(pragma_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                         " AND name IN ('sessions_queued_at',"
                                         " 'invites_locator_hash', 'sessions_token_hash')"),
                     3);
    assert_int_equal(pragma_int(f->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
                     1);
    reopen(f);
    reopen(f);
    assert_int_equal(tc_store_schema_version(f->s), 1);
    assert_int_equal(pragma_int(f->path, "PRAGMA user_version"), 1);
}

static void test_open_refuses_newer_schema(void **state)
{
    fixture *f = *state;
    tc_store_close(f->s);
    f->s = NULL;
    assert_int_equal(exec_raw(f->path, "PRAGMA user_version = 99"), SQLITE_OK);
    assert_null(tc_store_open(f->path));
    assert_null(tc_store_open(NULL));
    tc_store_close(NULL);
}

static void test_open_creates_parent_dirs(void **state)
{
    (void)state;
    char dir[64], path[128], sub[96];
    struct stat sb;
    snprintf(dir, sizeof dir, "/tmp/tc-store-dir-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/a", dir);
    snprintf(path, sizeof path, "%s/a/b.db", dir);
    tc_store *s = tc_store_open(path);
    assert_non_null(s);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600); /* password hashes and secrets inside */
    tc_store_close(s);
    remove_db(path);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_open_memory(void **state)
{
    (void)state;
    tc_store *s = tc_store_open(":memory:");
    assert_non_null(s);
    assert_int_equal(tc_store_schema_version(s), 1);
    assert_int_equal(tc_store_session_add(s, "broadband", 0, 0, "", "", T0, NULL), 0);
    tc_store_close(s);
}

static void test_secret_stable(void **state)
{
    fixture *f = *state;
    uint8_t a[32], b[32], c[32], zero[32] = {0};
    assert_int_equal(tc_store_secret(f->s, "invite_key", a, sizeof a), 0);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_int_equal(tc_store_secret(f->s, "invite_key", b, sizeof b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(tc_store_secret(f->s, "other", c, sizeof c), 0);
    assert_memory_not_equal(a, c, sizeof a);
    reopen(f);
    assert_int_equal(tc_store_secret(f->s, "invite_key", b, sizeof b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(tc_store_secret(f->s, "invite_key", b, 16), -EINVAL);
    assert_int_equal(tc_store_secret(f->s, "x", b, 0), -EINVAL);
    uint8_t big[65];
    assert_int_equal(tc_store_secret(f->s, "x", big, sizeof big), -EINVAL);
    assert_int_equal(tc_store_secret(f->s, "", b, 8), -EINVAL);
}

/* ---- accounts ------------------------------------------------------------------ */

static int collect_usernames(void *user, const tc_account *a)
{
    char *buf = user;
    strcat(buf, a->username);
    strcat(buf, ";");
    return 0;
}

static int stop_after_first(void *user, const tc_account *a)
{
    (void)a;
    (*(int *)user)++;
    return 1;
}

static void test_accounts(void **state)
{
    fixture *f = *state;
    tc_store *s = f->s;
    int64_t id1 = 0, id2 = 0;
    tc_account a;
    assert_int_equal(tc_store_account_add(s, "mei", "Mei Lin", "agent", "id_check,broadband",
                                          "$argon2id$hash1", T0, &id1),
                     0);
    assert_true(id1 > 0);
    assert_int_equal(tc_store_account_add(s, "mei", "Other", "ops", "", "$h", T0, NULL), -EEXIST);
    assert_int_equal(tc_store_account_add(s, "bob", "", "ops", "", "$argon2id$hash2", T0 + 1, &id2),
                     0);
    assert_int_equal(tc_store_account_add(s, "x", "", "admin", "", "$h", T0, NULL), -EINVAL);
    assert_int_equal(tc_store_account_add(s, "", "", "agent", "", "$h", T0, NULL), -EINVAL);
    assert_int_equal(tc_store_account_add(s, "y", "", "agent", "", "", T0, NULL), -EINVAL);

    assert_int_equal(tc_store_account_get(s, "mei", &a), 0);
    assert_int_equal(a.id, id1);
    assert_string_equal(a.display_name, "Mei Lin");
    assert_string_equal(a.role, "agent");
    assert_string_equal(a.skills, "id_check,broadband");
    assert_string_equal(a.password_hash, "$argon2id$hash1");
    assert_false(a.disabled);
    assert_int_equal(a.created_at, T0);
    assert_int_equal(tc_store_account_get_by_id(s, id2, &a), 0);
    assert_string_equal(a.username, "bob");
    assert_int_equal(tc_store_account_get(s, "nobody", &a), -ENOENT);
    assert_int_equal(tc_store_account_get_by_id(s, 999, &a), -ENOENT);

    assert_int_equal(tc_store_account_set_disabled(s, "mei", true), 0);
    assert_int_equal(tc_store_account_set_password(s, "mei", "$argon2id$hash3"), 0);
    assert_int_equal(tc_store_account_set_skills(s, "mei", "urgent_sim"), 0);
    assert_int_equal(tc_store_account_get(s, "mei", &a), 0);
    assert_true(a.disabled);
    assert_string_equal(a.password_hash, "$argon2id$hash3");
    assert_string_equal(a.skills, "urgent_sim");
    assert_int_equal(tc_store_account_set_disabled(s, "mei", false), 0);
    assert_int_equal(tc_store_account_get(s, "mei", &a), 0);
    assert_false(a.disabled);

    assert_int_equal(tc_store_account_set_disabled(s, "nobody", true), -ENOENT);
    assert_int_equal(tc_store_account_set_password(s, "nobody", "$h"), -ENOENT);
    assert_int_equal(tc_store_account_set_skills(s, "nobody", ""), -ENOENT);
    assert_int_equal(tc_store_account_set_password(s, "mei", ""), -EINVAL);

    char names[128] = "";
    assert_int_equal(tc_store_account_foreach(s, collect_usernames, names), 0);
    assert_string_equal(names, "bob;mei;");
    int calls = 0;
    assert_int_equal(tc_store_account_foreach(s, stop_after_first, &calls), 0);
    assert_int_equal(calls, 1);
}

/* ---- invites ------------------------------------------------------------------- */

static int64_t add_invite(tc_store *s, uint8_t locator, int64_t expires_at)
{
    uint8_t loc[32], code[32];
    int64_t id = 0;
    hash_of(locator, loc);
    hash_of((uint8_t)(locator + 100), code);
    assert_int_equal(tc_store_invite_add(s, loc, code, "urgent_sim", "CASE-1", "lost phone", 1, T0,
                                         expires_at, &id),
                     0);
    assert_true(id > 0);
    return id;
}

static void test_invites_live(void **state)
{
    fixture *f = *state;
    tc_store *s = f->s;
    tc_invite_row r;
    uint8_t loc[32], code[32];
    int attempts = 0;
    int64_t live = add_invite(s, 1, T0 + 600000);
    add_invite(s, 2, T0 + 1000); /* expires soon */
    int64_t redeemed = add_invite(s, 3, T0 + 600000);
    int64_t burned = add_invite(s, 4, T0 + 600000);

    hash_of(1, loc);
    hash_of(101, code);
    assert_int_equal(tc_store_invite_find_live(s, loc, T0 + 10, MAX_ATTEMPTS, &r), 0);
    assert_int_equal(r.id, live);
    assert_memory_equal(r.code_hash, code, 32);
    assert_string_equal(r.desk, "urgent_sim");
    assert_string_equal(r.case_ref, "CASE-1");
    assert_string_equal(r.note, "lost phone");
    assert_int_equal(r.issued_by, 1);
    assert_int_equal(r.issued_at, T0);
    assert_int_equal(r.expires_at, T0 + 600000);
    assert_int_equal(r.redeemed_at, 0);
    assert_int_equal(r.attempts, 0);

    hash_of(2, loc);
    assert_int_equal(tc_store_invite_find_live(s, loc, T0 + 999, MAX_ATTEMPTS, &r), 0);
    assert_int_equal(tc_store_invite_find_live(s, loc, T0 + 1000, MAX_ATTEMPTS, &r), -ENOENT);

    assert_int_equal(tc_store_invite_redeem(s, redeemed, T0 + 5, MAX_ATTEMPTS), 0);
    hash_of(3, loc);
    assert_int_equal(tc_store_invite_find_live(s, loc, T0 + 10, MAX_ATTEMPTS, &r), -ENOENT);

    hash_of(4, loc);
    for (int i = 1; i <= MAX_ATTEMPTS; i++) {
        assert_int_equal(tc_store_invite_find_live(s, loc, T0 + 10, MAX_ATTEMPTS, &r), 0);
        assert_int_equal(tc_store_invite_fail(s, burned, &attempts), 0);
        assert_int_equal(attempts, i);
    }
    assert_int_equal(tc_store_invite_find_live(s, loc, T0 + 10, MAX_ATTEMPTS, &r), -ENOENT);
    assert_int_equal(tc_store_invite_get(s, burned, &r), 0);
    assert_int_equal(r.attempts, MAX_ATTEMPTS);

    hash_of(9, loc);
    assert_int_equal(tc_store_invite_find_live(s, loc, T0, MAX_ATTEMPTS, &r), -ENOENT);
    assert_int_equal(tc_store_invite_fail(s, 999, &attempts), -ENOENT);
    assert_int_equal(tc_store_invite_get(s, 999, &r), -ENOENT);
    assert_int_equal(tc_store_invite_add(s, loc, code, "", "", "", 0, T0, T0 + 1, NULL), -EINVAL);
}

static void test_invite_redeem_once(void **state)
{
    fixture *f = *state;
    tc_invite_row r;
    int64_t id = add_invite(f->s, 1, T0 + 600000);
    int64_t expired = add_invite(f->s, 2, T0 + 100);
    int64_t burned = add_invite(f->s, 3, T0 + 600000);
    for (int i = 0; i < MAX_ATTEMPTS; i++)
        assert_int_equal(tc_store_invite_fail(f->s, burned, NULL), 0);

    /* Two connections to the same file, as two processes would have. */
    tc_store *other = tc_store_open(f->path);
    assert_non_null(other);
    assert_int_equal(tc_store_invite_redeem(f->s, id, T0 + 50, MAX_ATTEMPTS), 0);
    assert_int_equal(tc_store_invite_redeem(other, id, T0 + 51, MAX_ATTEMPTS), -EALREADY);
    assert_int_equal(tc_store_invite_redeem(f->s, id, T0 + 52, MAX_ATTEMPTS), -EALREADY);
    tc_store_close(other);
    assert_int_equal(tc_store_invite_get(f->s, id, &r), 0);
    assert_int_equal(r.redeemed_at, T0 + 50);

    assert_int_equal(tc_store_invite_redeem(f->s, expired, T0 + 100, MAX_ATTEMPTS), -EALREADY);
    assert_int_equal(tc_store_invite_redeem(f->s, burned, T0 + 1, MAX_ATTEMPTS), -EALREADY);
    assert_int_equal(tc_store_invite_redeem(f->s, 999, T0, MAX_ATTEMPTS), -EALREADY);
}

/* ---- sessions ------------------------------------------------------------------ */

static int64_t add_session(tc_store *s, const char *desk, int64_t queued_at)
{
    int64_t id = 0;
    assert_int_equal(tc_store_session_add(s, desk, 0, 0, "", "", queued_at, &id), 0);
    return id;
}

static void test_session_lifecycle(void **state)
{
    fixture *f = *state;
    tc_store *s = f->s;
    tc_session_row r;
    int64_t id = 0;
    const char token[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_int_equal(tc_store_session_add(s, "urgent_sim", 1, 42, "CASE-7", token, T0, &id), 0);
    assert_int_equal(tc_store_session_get(s, id, &r), 0);
    assert_string_equal(r.desk, "urgent_sim");
    assert_int_equal(r.priority, 1);
    assert_int_equal(r.invite_id, 42);
    assert_string_equal(r.case_ref, "CASE-7");
    assert_string_equal(r.token_hash, token);
    assert_int_equal(r.queued_at, T0);
    assert_int_equal(r.offered_at + r.answered_at + r.ended_at + r.offers + r.agent_id, 0);
    assert_string_equal(r.end_reason, "");
    assert_int_equal(r.rating, 0);

    assert_int_equal(tc_store_session_offered(s, id, 7, T0 + 1000), 0);
    assert_int_equal(tc_store_session_offered(s, id, 8, T0 + 2000), 0);
    assert_int_equal(tc_store_session_rate(s, id, 5, ""), -EAGAIN);
    assert_int_equal(tc_store_session_outcome(s, id, 7, "done", ""), -EPERM);
    assert_int_equal(tc_store_session_answered(s, id, 8, T0 + 3000), 0);
    assert_int_equal(tc_store_session_answered(s, id, 9, T0 + 3500), -EALREADY);
    assert_int_equal(tc_store_session_get(s, id, &r), 0);
    assert_int_equal(r.offers, 2);
    assert_int_equal(r.offered_at, T0 + 1000);
    assert_int_equal(r.answered_at, T0 + 3000);
    assert_int_equal(r.agent_id, 8);

    assert_int_equal(tc_store_session_outcome(s, id, 7, "x", "y"), -EPERM);
    assert_int_equal(tc_store_session_outcome(s, id, 8, "sim_suspended", "first"), 0);
    assert_int_equal(tc_store_session_outcome(s, id, 8, "sim_resumed", "corrected"), 0);
    assert_int_equal(tc_store_session_ended(s, id, "completed", T0 + 60000), 0);
    assert_int_equal(tc_store_session_ended(s, id, "failed", T0 + 70000), -EALREADY);
    assert_int_equal(tc_store_session_ended(s, id, "bogus", T0 + 70000), -EINVAL);
    assert_int_equal(tc_store_session_media_summary(s, id, "{\"rtt_ms\":40}"), 0);

    assert_int_equal(tc_store_session_rate(s, id, 0, ""), -EINVAL);
    assert_int_equal(tc_store_session_rate(s, id, 6, ""), -EINVAL);
    assert_int_equal(tc_store_session_rate(s, id, 4, "quick"), 0);
    assert_int_equal(tc_store_session_rate(s, id, 5, "again"), -EALREADY);

    assert_int_equal(tc_store_session_get(s, id, &r), 0);
    assert_int_equal(r.ended_at, T0 + 60000);
    assert_string_equal(r.end_reason, "completed");
    assert_string_equal(r.outcome, "sim_resumed");
    assert_string_equal(r.notes, "corrected");
    assert_int_equal(r.rating, 4);
    assert_string_equal(r.rating_comment, "quick");
    assert_string_equal(r.media_summary, "{\"rtt_ms\":40}");
}

static void test_session_missing_and_bad(void **state)
{
    fixture *f = *state;
    tc_store *s = f->s;
    tc_session_row r;
    int64_t open_id = add_session(s, "broadband", T0);
    assert_int_equal(tc_store_session_offered(s, 999, 1, T0), -ENOENT);
    assert_int_equal(tc_store_session_answered(s, 999, 1, T0), -ENOENT);
    assert_int_equal(tc_store_session_ended(s, 999, "completed", T0), -ENOENT);
    assert_int_equal(tc_store_session_outcome(s, 999, 1, "", ""), -ENOENT);
    assert_int_equal(tc_store_session_rate(s, 999, 3, ""), -ENOENT);
    assert_int_equal(tc_store_session_media_summary(s, 999, "{}"), -ENOENT);
    assert_int_equal(tc_store_session_get(s, 999, &r), -ENOENT);
    assert_int_equal(tc_store_session_add(s, "", 0, 0, "", "", T0, NULL), -EINVAL);
    assert_int_equal(tc_store_session_answered(s, open_id, 0, T0), -EINVAL);
    /* Ended before anyone answered: answering now is too late. */
    assert_int_equal(tc_store_session_ended(s, open_id, "abandoned", T0 + 5), 0);
    assert_int_equal(tc_store_session_answered(s, open_id, 3, T0 + 6), -EALREADY);
}

static int collect_ids(void *user, const tc_session_row *r)
{
    int64_t *ids = user;
    ids[++ids[0]] = r->id;
    return ids[0] >= 3;
}

static void test_session_foreach_and_end_all(void **state)
{
    fixture *f = *state;
    tc_store *s = f->s;
    tc_session_row r;
    int64_t late = add_session(s, "broadband", T0 + 300);
    int64_t early = add_session(s, "broadband", T0 + 100);
    int64_t done = add_session(s, "id_check", T0 + 200);
    add_session(s, "id_check", T0 + 400);
    add_session(s, "id_check", T0 + 999);
    assert_int_equal(tc_store_session_ended(s, done, "completed", T0 + 250), 0);

    int64_t ids[8] = {0};
    assert_int_equal(tc_store_session_foreach(s, T0 + 100, T0 + 999, collect_ids, ids), 0);
    assert_int_equal(ids[0], 3); /* stopped early after three */
    assert_int_equal(ids[1], early);
    assert_int_equal(ids[2], done);
    assert_int_equal(ids[3], late);

    int count = -1;
    assert_int_equal(tc_store_session_end_all_open(s, "server_shutdown", T0 + 5000, &count), 0);
    assert_int_equal(count, 4);
    assert_int_equal(tc_store_session_end_all_open(s, "server_shutdown", T0 + 6000, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(tc_store_session_end_all_open(s, "nope", T0, NULL), -EINVAL);
    assert_int_equal(tc_store_session_get(s, done, &r), 0);
    assert_string_equal(r.end_reason, "completed");
    assert_int_equal(r.ended_at, T0 + 250);
    assert_int_equal(tc_store_session_get(s, late, &r), 0);
    assert_string_equal(r.end_reason, "server_shutdown");
    assert_int_equal(r.ended_at, T0 + 5000);
}

/* ---- statistics ---------------------------------------------------------------- */

/* One hand-made session: answer_ms/handle_ms < 0 = never answered; reason NULL = open. */
static void made(tc_store *s, const char *desk, int64_t queued, int64_t answer_ms,
                 int64_t handle_ms, const char *reason, int rating)
{
    int64_t id = add_session(s, desk, queued);
    int64_t end = queued + 30000;
    assert_int_equal(tc_store_session_offered(s, id, 1, queued + 1), 0);
    if (answer_ms >= 0) {
        assert_int_equal(tc_store_session_answered(s, id, 1, queued + answer_ms), 0);
        end = queued + answer_ms + handle_ms;
    }
    if (reason)
        assert_int_equal(tc_store_session_ended(s, id, reason, end), 0);
    if (rating)
        assert_int_equal(tc_store_session_rate(s, id, rating, ""), 0);
}

static void make_stats_set(tc_store *s)
{
    made(s, "broadband", T0 + 0, 10000, 60000, "completed", 5);     /* A */
    made(s, "broadband", T0 + 1000, 40000, 120000, "completed", 3); /* B */
    made(s, "broadband", T0 + 2000, -1, 0, "abandoned", 0);         /* C */
    made(s, "broadband", T0 + 3000, 20000, 30000, "agent_gone", 0); /* D */
    made(s, "broadband", T0 + 4000, -1, 0, NULL, 0);                /* E, still open */
    made(s, "id_check", T0 + 5000, 5000, 100000, "completed", 4);   /* F */
    made(s, "broadband", T0 + 6000, -1, 0, "missed", 0);            /* I */
    made(s, "id_check", T0 + 7000, -1, 0, "customer_gone", 0);      /* J */
    made(s, "id_check", T0 + 8000, -1, 0, "failed", 0);             /* K */
    made(s, "id_check", T0 + 9000, -1, 0, "server_shutdown", 0);    /* L */
    /* Outside the window [T0, T0 + 100000): before it and at its (open) end. */
    made(s, "broadband", T0 - 60000, 10000, 30000, "completed", 1); /* G */
    made(s, "broadband", T0 + 100000, 1000, 1000, "completed", 1);  /* H */
}

static void test_stats_all_desks(void **state)
{
    fixture *f = *state;
    tc_store_stats st;
    make_stats_set(f->s);
    assert_int_equal(tc_store_stats_get(f->s, T0, T0 + 100000, NULL, 30, &st), 0);
    assert_int_equal(st.sessions, 10);
    assert_int_equal(st.ended, 9);
    assert_int_equal(st.completed, 3);
    assert_int_equal(st.abandoned, 1);
    assert_int_equal(st.missed, 1);
    assert_int_equal(st.customer_gone, 1);
    assert_int_equal(st.agent_gone, 1);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.server_shutdown, 1);
    assert_int_equal(st.answered, 4);
    assert_int_equal(st.answered_within, 3);
    assert_float_equal(st.avg_answer_s, 18.75, 1e-9);
    assert_float_equal(st.abandon_rate, 1.0 / 9.0, 1e-9);
    assert_float_equal(st.avg_handle_s, 77.5, 1e-9);
    assert_int_equal(st.rated, 3);
    assert_float_equal(st.avg_rating, 4.0, 1e-9);

    /* The threshold is inclusive: D answered in exactly 20 s. */
    assert_int_equal(tc_store_stats_get(f->s, T0, T0 + 100000, NULL, 20, &st), 0);
    assert_int_equal(st.answered_within, 3);
    assert_int_equal(tc_store_stats_get(f->s, T0, T0 + 100000, NULL, 19, &st), 0);
    assert_int_equal(st.answered_within, 2);
    assert_int_equal(tc_store_stats_get(f->s, T0, T0 + 100000, NULL, -1, &st), -EINVAL);
}

static void test_stats_one_desk_and_empty(void **state)
{
    fixture *f = *state;
    tc_store_stats st;
    make_stats_set(f->s);
    assert_int_equal(tc_store_stats_get(f->s, T0, T0 + 100000, "broadband", 30, &st), 0);
    assert_int_equal(st.sessions, 6);
    assert_int_equal(st.ended, 5);
    assert_int_equal(st.completed, 2);
    assert_int_equal(st.abandoned, 1);
    assert_int_equal(st.missed, 1);
    assert_int_equal(st.customer_gone, 0);
    assert_int_equal(st.agent_gone, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.server_shutdown, 0);
    assert_int_equal(st.answered, 3);
    assert_int_equal(st.answered_within, 2);
    assert_float_equal(st.avg_answer_s, 70.0 / 3.0, 1e-9);
    assert_float_equal(st.abandon_rate, 0.2, 1e-9);
    assert_float_equal(st.avg_handle_s, 70.0, 1e-9);
    assert_int_equal(st.rated, 2);
    assert_float_equal(st.avg_rating, 4.0, 1e-9);

    tc_store_stats zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(tc_store_stats_get(f->s, T0 + 200000, T0 + 300000, NULL, 30, &st), 0);
    assert_memory_equal(&st, &zero, sizeof st);
    assert_int_equal(tc_store_stats_get(f->s, T0, T0 + 100000, "urgent_sim", 30, &st), 0);
    assert_memory_equal(&st, &zero, sizeof st);
}

static void test_recent_handle(void **state)
{
    fixture *f = *state;
    double avg = -1;
    make_stats_set(f->s);
    /* broadband, newest end first: B 120 s, H 1 s, A 60 s, D 30 s, G 30 s. */
    assert_int_equal(tc_store_recent_handle_s(f->s, "broadband", 1, &avg), 0);
    assert_float_equal(avg, 120.0, 1e-9);
    assert_int_equal(tc_store_recent_handle_s(f->s, "broadband", 2, &avg), 0);
    assert_float_equal(avg, 60.5, 1e-9);
    assert_int_equal(tc_store_recent_handle_s(f->s, "broadband", 4, &avg), 0);
    assert_float_equal(avg, 211.0 / 4.0, 1e-9);
    assert_int_equal(tc_store_recent_handle_s(f->s, "broadband", 100, &avg), 0);
    assert_float_equal(avg, 241.0 / 5.0, 1e-9);
    assert_int_equal(tc_store_recent_handle_s(f->s, "id_check", 10, &avg), 0);
    assert_float_equal(avg, 100.0, 1e-9);
    assert_int_equal(tc_store_recent_handle_s(f->s, "urgent_sim", 10, &avg), -ENOENT);
    assert_int_equal(tc_store_recent_handle_s(f->s, "broadband", 0, &avg), -EINVAL);
}

/* ---- audit and evidence ---------------------------------------------------------- */

static void test_audit_and_evidence(void **state)
{
    fixture *f = *state;
    tc_store *s = f->s;
    int64_t n = -1, ev = 0;
    int64_t sid = add_session(s, "id_check", T0);
    assert_int_equal(tc_store_audit(s, T0, sid, 0, "queued", NULL), 0);
    assert_int_equal(tc_store_audit(s, T0 + 1, sid, 3, "answered", "{\"agent\":3}"), 0);
    assert_int_equal(tc_store_audit(s, T0 + 2, 0, 3, "login", NULL), 0);
    assert_int_equal(tc_store_audit(s, T0 + 2, 0, 0, "", NULL), -EINVAL);
    assert_int_equal(tc_store_audit_count(s, sid, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(tc_store_audit_count(s, 0, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(tc_store_audit_count(s, 999, &n), 0);
    assert_int_equal(n, 0);
    assert_int_not_equal(exec_raw(f->path, "UPDATE audit SET event = 'x'"), SQLITE_OK);
    assert_int_not_equal(exec_raw(f->path, "DELETE FROM audit"), SQLITE_OK);

    const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F'};
    const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_int_equal(
        tc_store_evidence_add(s, sid, 3, T0 + 5, "image/jpeg", jpeg, sizeof jpeg, sha, &ev), 0);
    assert_true(ev > 0);
    assert_int_equal(pragma_int(f->path, "SELECT length(data) FROM evidence"),
                     (int64_t)sizeof jpeg);
    assert_int_equal(
        tc_store_evidence_add(s, 999, 3, T0 + 5, "image/jpeg", jpeg, sizeof jpeg, sha, NULL),
        -ENOENT);
    assert_int_equal(
        tc_store_evidence_add(s, sid, 3, T0 + 5, "image/jpeg", jpeg, sizeof jpeg, "abc", NULL),
        -EINVAL);
    assert_int_equal(tc_store_evidence_add(s, sid, 3, T0 + 5, "image/jpeg", jpeg, 0, sha, NULL),
                     -EINVAL);
}

/* ---- strings --------------------------------------------------------------------- */

static bool utf8_valid(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    while (*u) {
        int extra = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2 : 3;
        u++;
        for (int i = 0; i < extra; i++, u++) {
            if ((*u & 0xC0) != 0x80)
                return false;
        }
    }
    return true;
}

static void test_strings(void **state)
{
    fixture *f = *state;
    tc_store *s = f->s;
    tc_session_row r;
    tc_account a;
    int64_t id = 0;
    const char tricky[] = "O'Brien \"quoted\"; DROP TABLE sessions; -- 张三 ñ 🙂";
    assert_int_equal(tc_store_session_add(s, "broadband", 0, 0, tricky, "", T0, &id), 0);
    assert_int_equal(tc_store_session_get(s, id, &r), 0);
    assert_string_equal(r.case_ref, tricky);

    /* 3000 bytes of 3-byte characters: cut to fit 2047 bytes, never mid-character. */
    char long_notes[3001];
    for (int i = 0; i < 1000; i++)
        memcpy(long_notes + 3 * i, "张", 3);
    long_notes[3000] = '\0';
    assert_int_equal(tc_store_session_answered(s, id, 5, T0 + 1), 0);
    assert_int_equal(tc_store_session_outcome(s, id, 5, "ok", long_notes), 0);
    assert_int_equal(tc_store_session_get(s, id, &r), 0);
    assert_int_equal(strlen(r.notes), 2046); /* 682 characters */
    assert_true(utf8_valid(r.notes));

    char long_name[301];
    memset(long_name, 0, sizeof long_name);
    for (int i = 0; i < 150; i++)
        memcpy(long_name + 2 * i, "é", 2);
    assert_int_equal(tc_store_account_add(s, "ana", long_name, "agent", "", "$h", T0, NULL), 0);
    assert_int_equal(tc_store_account_get(s, "ana", &a), 0);
    assert_int_equal(strlen(a.display_name), 126);
    assert_true(utf8_valid(a.display_name));

    char long_user[TC_USERNAME_MAX + 1];
    memset(long_user, 'u', TC_USERNAME_MAX);
    long_user[TC_USERNAME_MAX] = '\0';
    assert_int_equal(tc_store_account_add(s, long_user, "", "agent", "", "$h", T0, NULL), -EINVAL);
    char long_json[1100];
    memset(long_json, ' ', sizeof long_json - 1);
    long_json[sizeof long_json - 1] = '\0';
    assert_int_equal(tc_store_session_media_summary(s, id, long_json), -EINVAL);
}

static void test_utf8_fit(void **state)
{
    (void)state;
    const char *s = "aé€🙂"; /* 1 + 2 + 3 + 4 bytes */
    assert_int_equal(store_utf8_fit(s, 10, 10), 10);
    assert_int_equal(store_utf8_fit(s, 10, 9), 6);
    assert_int_equal(store_utf8_fit(s, 10, 6), 6);
    assert_int_equal(store_utf8_fit(s, 10, 5), 3);
    assert_int_equal(store_utf8_fit(s, 10, 2), 1);
    assert_int_equal(store_utf8_fit(s, 10, 1), 1);
    assert_int_equal(store_utf8_fit(s, 10, 0), 0);
}

/* ---- durability ------------------------------------------------------------------ */

static void test_survives_reopen(void **state)
{
    fixture *f = *state;
    tc_account a;
    tc_invite_row inv;
    tc_session_row r;
    int64_t acc = 0, sid = 0, n = 0;
    assert_int_equal(tc_store_account_add(f->s, "li", "Li", "agent", "broadband", "$h", T0, &acc),
                     0);
    int64_t invite = add_invite(f->s, 7, T0 + 600000);
    assert_int_equal(tc_store_invite_redeem(f->s, invite, T0 + 10, MAX_ATTEMPTS), 0);
    assert_int_equal(tc_store_session_add(f->s, "urgent_sim", 1, invite, "C", "", T0 + 10, &sid),
                     0);
    assert_int_equal(tc_store_session_answered(f->s, sid, acc, T0 + 20), 0);
    assert_int_equal(tc_store_session_ended(f->s, sid, "completed", T0 + 90), 0);
    assert_int_equal(tc_store_session_outcome(f->s, sid, acc, "resumed", "n"), 0);
    assert_int_equal(tc_store_session_rate(f->s, sid, 5, "great"), 0);
    assert_int_equal(tc_store_audit(f->s, T0, sid, acc, "ended", NULL), 0);

    reopen(f);
    assert_int_equal(tc_store_account_get(f->s, "li", &a), 0);
    assert_int_equal(a.id, acc);
    assert_int_equal(tc_store_invite_get(f->s, invite, &inv), 0);
    assert_int_equal(inv.redeemed_at, T0 + 10);
    assert_int_equal(tc_store_session_get(f->s, sid, &r), 0);
    assert_int_equal(r.invite_id, invite);
    assert_int_equal(r.agent_id, acc);
    assert_int_equal(r.ended_at, T0 + 90);
    assert_string_equal(r.outcome, "resumed");
    assert_int_equal(r.rating, 5);
    assert_string_equal(r.rating_comment, "great");
    assert_int_equal(tc_store_audit_count(f->s, sid, &n), 0);
    assert_int_equal(n, 1);
}

int main(void)
{
    if (tc_random_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_fresh_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_newer_schema, setup, teardown),
        cmocka_unit_test(test_open_creates_parent_dirs),
        cmocka_unit_test(test_open_memory),
        cmocka_unit_test_setup_teardown(test_secret_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invites_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invite_redeem_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_missing_and_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_foreach_and_end_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_all_desks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_one_desk_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_and_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
        cmocka_unit_test(test_utf8_fit),
        cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
