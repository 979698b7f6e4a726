/*
 * db: opening and closing the one SQLite connection of the process.
 *
 * Why these settings: WAL lets the admin command read and write while the
 * server runs; synchronous=FULL makes a commit durable before we tell a user
 * "done" (DESIGN.md, "Data that must not be lost"); the busy timeout rides out
 * the other process's short write transactions; foreign keys keep evidence
 * tied to a real session. The file holds password hashes and secrets, so it
 * is created 0600 (SQLite gives its -wal and -shm files the same mode).
 */
#include "store/store_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

static bool is_memory(const char *path)
{
    return path[0] == '\0' || strcmp(path, ":memory:") == 0;
}

/* mkdir -p of the directory part of path, 0750. */
static int make_parent_dirs(const char *path)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return -ENAMETOOLONG;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0750) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Creates the file 0600 if it is missing, so that SQLite does not create it
 * with the umask's mode. */
static int create_private(const char *path)
{
    int rc = make_parent_dirs(path);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static int set_pragmas(tc_store *s, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto out;
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || (strcmp(mode, "wal") != 0 && !is_memory(path))) {
        tc_error("store: %s: journal_mode is %s, not wal", path, mode ? mode : "?");
        rc = -EIO;
        goto out;
    }
    /* After journal_mode: FULL syncs the WAL at every commit. */
    if (sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    rc = 0;
out:
    if (rc < 0 && sqlite3_errcode(s->db) != SQLITE_OK)
        store_log_error(s, st, path);
    sqlite3_finalize(st);
    return rc;
}

tc_store *tc_store_open(const char *path)
{
    if (!path)
        return NULL;
    if (!is_memory(path)) {
        int rc = create_private(path);
        if (rc < 0) {
            tc_error("store: cannot create %s: %s", path, strerror(-rc));
            return NULL;
        }
    }
    tc_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        tc_error("store: cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "no memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (set_pragmas(s, path) < 0 || store_migrate(s) < 0)
        goto fail;
    return s;
fail:
    tc_store_close(s);
    return NULL;
}

void tc_store_close(tc_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(s->stmts[i]);
    if (sqlite3_close(s->db) != SQLITE_OK)
        tc_error("store: close: %s", sqlite3_errmsg(s->db));
    free(s);
}

int tc_store_schema_version(tc_store *s)
{
    return s->schema_version;
}
