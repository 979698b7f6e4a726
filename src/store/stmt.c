/*
 * stmt: the prepared-statement cache and the few helpers every record file
 * uses, so that binding, stepping, truncation and error mapping are written
 * once. A SQLite failure is logged here, once, with the statement's SQL;
 * callers only pass the negative errno up.
 */
#include "store/store_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <string.h>

void store_log_error(tc_store *s, sqlite3_stmt *st, const char *what)
{
    const char *sql = st ? sqlite3_sql(st) : NULL;
    tc_error("store: %s: %s (%d)%s%s", what, sqlite3_errmsg(s->db), sqlite3_extended_errcode(s->db),
             sql ? " in: " : "", sql ? sql : "");
}

sqlite3_stmt *store_stmt(tc_store *s, enum store_stmt_id id, const char *sql)
{
    sqlite3_stmt **slot = &s->stmts[id];
    if (*slot)
        return *slot;
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        tc_error("store: prepare failed: %s in: %s", sqlite3_errmsg(s->db), sql);
        sqlite3_finalize(*slot);
        *slot = NULL;
    }
    return *slot;
}

void store_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* A write into a file that is gone would be acknowledged and then lost:
 * refuse it (-EIO) before SQLite sees it, so that no caller tells a user
 * "done" about it (store.h, tc_store_health). */
int store_step(tc_store *s, sqlite3_stmt *st)
{
    bool writes = !sqlite3_stmt_readonly(st);
    if (writes && store_file_gone(s))
        return -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        if (writes && rc == SQLITE_DONE)
            store_note_write(s, 0);
        return rc;
    }
    int ext = sqlite3_extended_errcode(s->db);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return -EEXIST;
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
        return -ENOENT;
    store_log_error(s, st, "step failed");
    if (writes)
        store_note_write(s, ext);
    return -EIO;
}

int store_exec(tc_store *s, sqlite3_stmt *st)
{
    int rc;
    while ((rc = store_step(s, st)) == SQLITE_ROW)
        ;
    store_done(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

int store_bind_failed(sqlite3_stmt *st, int rc)
{
    tc_error("store: bind failed: %s in: %s", sqlite3_errstr(rc), sqlite3_sql(st));
    store_done(st);
    return -EIO;
}

size_t store_utf8_fit(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* Back off over continuation bytes (10xxxxxx) so the cut lands before a
     * lead byte and no character is split. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int store_bind_text(sqlite3_stmt *st, int idx, const char *str, size_t cap)
{
    if (!str)
        str = "";
    size_t n = store_utf8_fit(str, strlen(str), cap - 1);
    return sqlite3_bind_text(st, idx, str, (int)n, SQLITE_STATIC);
}

int store_bind_opt(sqlite3_stmt *st, int idx, int64_t v)
{
    return v ? sqlite3_bind_int64(st, idx, v) : sqlite3_bind_null(st, idx);
}

void store_column_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const char *txt = (const char *)sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    size_t n = txt ? store_utf8_fit(txt, len, cap - 1) : 0;
    if (n)
        memcpy(dst, txt, n);
    dst[n] = '\0';
}

bool store_fits(const char *str, size_t cap)
{
    return str && str[0] != '\0' && strnlen(str, cap) < cap;
}

bool store_end_reason_valid(const char *str)
{
    static const char *const reasons[] = {
        "completed",  "abandoned", "missed",          "customer_gone",
        "agent_gone", "failed",    "server_shutdown",
    };
    for (size_t i = 0; str && i < sizeof reasons / sizeof reasons[0]; i++) {
        if (strcmp(str, reasons[i]) == 0)
            return true;
    }
    return false;
}

int store_get_row(tc_store *s, sqlite3_stmt *st, void (*read)(sqlite3_stmt *st, void *out),
                  void *out)
{
    int rc = store_step(s, st);
    if (rc == SQLITE_ROW) {
        read(st, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    }
    store_done(st);
    return rc;
}
