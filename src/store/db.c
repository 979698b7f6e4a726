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

/* Remembers which file the path names now, to notice it deleted or replaced. */
static int remember_file(tc_store *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    s->path = strdup(path);
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return s->path ? 0 : -ENOMEM;
}

static tc_store *open_with(const char *path, int flags, bool read_only)
{
    tc_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->read_only = read_only;
    if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        tc_error("store: cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "no memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (!is_memory(path) && remember_file(s, path) < 0) {
        tc_error("store: %s: %s", path, strerror(errno));
        goto fail;
    }
    if (read_only) {
        int rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) == SQLITE_OK ? store_check_version(s)
                                                                           : -EIO;
        if (rc == -EAGAIN) {
            /* A file from an older build: migrate it first, as the server's start would. */
            tc_info("store: %s has an older schema: migrating it before reading", path);
            tc_store_close(s);
            return open_with(path, SQLITE_OPEN_READWRITE, false);
        }
        if (rc < 0)
            goto fail;
    } else if (set_pragmas(s, path) < 0 || store_migrate(s) < 0) {
        goto fail;
    }
    return s;
fail:
    tc_store_close(s);
    return NULL;
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
    return open_with(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, false);
}

tc_store *tc_store_open_existing(const char *path, bool read_only)
{
    struct stat st;
    if (!path || is_memory(path))
        return NULL;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        tc_error("store: no database at %s", path);
        return NULL;
    }
    return open_with(path, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, read_only);
}

void tc_store_close(tc_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(s->stmts[i]);
    if (sqlite3_close(s->db) != SQLITE_OK)
        tc_error("store: close: %s", sqlite3_errmsg(s->db));
    free(s->path);
    free(s);
}

/* ---- health ------------------------------------------------------------------------ */

bool store_file_gone(tc_store *s)
{
    if (s->gone || !s->path)
        return s->gone;
    struct stat st;
    /* Only a definite answer counts: ENOENT, or another file at the path. */
    if (stat(s->path, &st) == 0 ? (st.st_dev != s->dev || st.st_ino != s->ino) : errno == ENOENT) {
        s->gone = true;
        tc_error("store: the database file %s is gone (deleted or replaced while open): every "
                 "write is refused from now on; restore the file and restart",
                 s->path);
    }
    return s->gone;
}

void store_note_write(tc_store *s, int sqlite_ext)
{
    switch (sqlite_ext & 0xff) {
    case SQLITE_OK:
        s->write_err = 0;
        break;
    case SQLITE_FULL:
        s->write_err = -ENOSPC;
        break;
    case SQLITE_READONLY:
        s->write_err = -EROFS;
        break;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        s->write_err = -EIO;
        break;
    default: /* a constraint, a busy lock: nothing wrong with the disk */
        break;
    }
}

/* Writes, syncs and removes a small file next to the database: does the file
 * system still take writes? (A full disk, a read-only remount.) */
static int probe(const char *db_path)
{
    char path[4200], block[4096];
    if (snprintf(path, sizeof path, "%s-probe", db_path) >= (int)sizeof path)
        return -ENAMETOOLONG;
    memset(block, 0, sizeof block);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    ssize_t n = write(fd, block, sizeof block);
    if (n != (ssize_t)sizeof block)
        rc = n < 0 ? -errno : -ENOSPC;
    else if (fsync(fd) != 0)
        rc = -errno;
    close(fd);
    unlink(path);
    return rc;
}

/* After a failed write, while nothing else writes (a server that is not ready
 * gets no traffic), a real SQLite write says when writes work again: the
 * schema version rewritten with its own value is a commit of one page. */
static void retry_write(tc_store *s)
{
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", s->schema_version);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK) {
        s->write_err = 0;
        tc_info("store: %s: a test write succeeded; writes work again", s->path);
    }
}

int tc_store_health(tc_store *s, int64_t now_ms, char *reason, size_t cap)
{
    snprintf(reason, cap, "ok");
    if (!s->path)
        return 0;
    if (store_file_gone(s)) {
        snprintf(reason, cap, "database file is gone");
        return -ENOENT;
    }
    if (s->read_only) {
        snprintf(reason, cap, "database opened read-only");
        return -EROFS;
    }
    if (s->probe_at_ms == 0 || now_ms - s->probe_at_ms >= TC_STORE_PROBE_MS ||
        now_ms < s->probe_at_ms) {
        int was = s->probe_err;
        s->probe_err = probe(s->path);
        s->probe_at_ms = now_ms;
        if (s->probe_err && !was)
            tc_error("store: cannot write next to %s: %s", s->path, strerror(-s->probe_err));
        else if (!s->probe_err && was)
            tc_info("store: %s takes writes again", s->path);
        if (!s->probe_err && s->write_err)
            retry_write(s);
    }
    int err = s->probe_err ? s->probe_err : s->write_err;
    if (err)
        snprintf(reason, cap, "database cannot write: %s%s", strerror(-err),
                 s->probe_err ? "" : " (the last write failed)");
    return err;
}

int tc_store_schema_version(tc_store *s)
{
    return s->schema_version;
}
