/*
 * Unit tests of the store's health (tc_store_health, behind /readyz) and of
 * tc_store_open_existing: a database file deleted or replaced under the open
 * connection refuses writes; a failed probe or write makes the store not
 * ready until writes work again; opening an existing file creates nothing and
 * a read-only connection writes nothing. Each test has its own directory in
 * /tmp, removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store_internal.h"
#include "telecounter/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1700000000000LL

typedef struct fixture {
    char dir[64];
    char path[128];
    tc_store *s;
    char reason[160];
} fixture;

static void side_path(const fixture *f, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", f->path, suffix);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tc-store-health-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/tc.db", f->dir);
    f->s = tc_store_open(f->path);
    *state = f;
    return f->s ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char side[160];
    tc_store_close(f->s);
    const char *suffixes[] = {"", "-wal", "-shm", "-probe", ".other"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        side_path(f, suffixes[i], side, sizeof side);
        unlink(side);
    }
    side_path(f, "-probe", side, sizeof side);
    rmdir(side);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int health(fixture *f, int64_t now_ms)
{
    return tc_store_health(f->s, now_ms, f->reason, sizeof f->reason);
}

static void deleted_file_refuses_writes(void **state)
{
    fixture *f = *state;
    char side[160];
    assert_int_equal(health(f, 1), 0);
    assert_string_equal(f->reason, "ok");
    assert_int_equal(tc_store_session_add(f->s, "broadband", 0, 0, "", "", T0, NULL), 0);

    assert_int_equal(unlink(f->path), 0);
    side_path(f, "-wal", side, sizeof side);
    unlink(side);
    assert_int_equal(health(f, 2), -ENOENT);
    assert_string_equal(f->reason, "database file is gone");
    /* a write would land in an unlinked file: refused, not acknowledged */
    assert_int_equal(tc_store_session_add(f->s, "broadband", 0, 0, "", "", T0, NULL), -EIO);
    assert_int_equal(tc_store_account_set_disabled(f->s, "nobody", true), -EIO);
    /* reads still answer from the open file */
    tc_session_row row;
    assert_int_equal(tc_store_session_get(f->s, 1, &row), 0);
    /* and nothing was created at the path */
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), -1);
    /* sticky, even once a file is back at the path */
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(health(f, 5000), -ENOENT);
}

static void replaced_file_is_gone(void **state)
{
    fixture *f = *state;
    char other[160];
    side_path(f, ".other", other, sizeof other);
    FILE *fp = fopen(other, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(rename(other, f->path), 0); /* another inode at the path */
    assert_int_equal(health(f, 1), -ENOENT);
    assert_int_equal(tc_store_session_add(f->s, "broadband", 0, 0, "", "", T0, NULL), -EIO);
}

/* The probe writes <path>-probe; a directory there makes it fail (root can
 * write anywhere, so permissions would not). */
static void failed_probe_until_it_passes(void **state)
{
    fixture *f = *state;
    char probe[160];
    side_path(f, "-probe", probe, sizeof probe);
    assert_int_equal(mkdir(probe, 0700), 0);
    assert_int_equal(health(f, 1000), -EISDIR);
    assert_non_null(strstr(f->reason, "database cannot write: "));
    assert_null(strchr(f->reason, '\n'));
    assert_int_equal(rmdir(probe), 0);
    /* not probed again within TC_STORE_PROBE_MS */
    assert_int_equal(health(f, 1000 + TC_STORE_PROBE_MS - 1), -EISDIR);
    assert_int_equal(health(f, 1000 + TC_STORE_PROBE_MS), 0);
    assert_int_equal(access(probe, F_OK), -1); /* the probe cleans up */
}

/* SQLITE_FULL from a page limit stands in for a full disk. */
static void failed_write_until_one_works(void **state)
{
    fixture *f = *state;
    assert_int_equal(health(f, 1), 0);
    assert_int_equal(sqlite3_exec(f->s->db, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
                     SQLITE_OK);
    char notes[2000];
    memset(notes, 'n', sizeof notes - 1);
    notes[sizeof notes - 1] = '\0';
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = tc_store_session_add(f->s, "broadband", 0, 0, notes, "", T0, NULL);
    assert_int_equal(rc, -EIO);
    assert_int_equal(health(f, 2), -ENOSPC);
    assert_non_null(strstr(f->reason, "the last write failed"));
    /* at the next probe, a test commit (one page, no growth) shows writes work */
    assert_int_equal(health(f, 2 + TC_STORE_PROBE_MS), 0);
}

static void open_existing_creates_nothing(void **state)
{
    fixture *f = *state;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/sub/none.db", f->dir);
    assert_null(tc_store_open_existing(missing, true));
    assert_null(tc_store_open_existing(missing, false));
    snprintf(missing, sizeof missing, "%s/sub", f->dir);
    assert_int_equal(access(missing, F_OK), -1);
    assert_null(tc_store_open_existing(NULL, true));
    assert_null(tc_store_open_existing(":memory:", true));

    assert_int_equal(tc_store_session_add(f->s, "broadband", 0, 0, "", "", T0, NULL), 0);
    tc_store *ro = tc_store_open_existing(f->path, true);
    assert_non_null(ro);
    tc_session_row row;
    assert_int_equal(tc_store_session_get(ro, 1, &row), 0);
    assert_string_equal(row.desk, "broadband");
    assert_int_equal(tc_store_session_add(ro, "broadband", 0, 0, "", "", T0, NULL), -EIO);
    char reason[64];
    assert_int_equal(tc_store_health(ro, 1, reason, sizeof reason), -EROFS);
    tc_store_close(ro);

    tc_store *rw = tc_store_open_existing(f->path, false);
    assert_non_null(rw);
    assert_int_equal(tc_store_session_add(rw, "broadband", 0, 0, "", "", T0, NULL), 0);
    tc_store_close(rw);
}

static void read_only_and_other_schemas(void **state)
{
    fixture *f = *state;
    char old[160];
    snprintf(old, sizeof old, "%s/old.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    /* an older schema (user_version 0) is migrated first, as a server start would */
    tc_store *s = tc_store_open_existing(old, true);
    assert_non_null(s);
    assert_true(tc_store_schema_version(s) >= 1);
    tc_store_close(s);
    /* a newer one is refused */
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_null(tc_store_open_existing(old, true));
    char side[180];
    unlink(old);
    snprintf(side, sizeof side, "%s-wal", old);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", old);
    unlink(side);
}

static void memory_is_always_ready(void **state)
{
    (void)state;
    tc_store *s = tc_store_open(":memory:");
    char reason[32];
    assert_non_null(s);
    assert_int_equal(tc_store_health(s, 1, reason, sizeof reason), 0);
    tc_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(deleted_file_refuses_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(replaced_file_is_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_probe_until_it_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_write_until_one_works, setup, teardown),
        cmocka_unit_test_setup_teardown(open_existing_creates_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(read_only_and_other_schemas, setup, teardown),
        cmocka_unit_test(memory_is_always_ready),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
