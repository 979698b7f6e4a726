#include "telecounter/config.h"

#include "telecounter/log.h"
#include "telecounter/timezone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* Every error of a file is reported, not only the first: one line each, joined
 * with '\n' into the caller's buffer (lines that do not fit are counted but
 * dropped). */
typedef struct errs {
    char *buf;
    size_t cap, used;
    int count;
} errs;

static void errs_init(errs *e, char *buf, size_t cap)
{
    *e = (errs){.buf = buf, .cap = cap};
    if (cap)
        buf[0] = '\0';
}

__attribute__((format(printf, 2, 3))) static void add_err(errs *e, const char *fmt, ...)
{
    e->count++;
    if (e->used + 1 >= e->cap)
        return;
    if (e->used > 0)
        e->buf[e->used++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->buf + e->used, e->cap - e->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        e->used += (size_t)n < e->cap - e->used ? (size_t)n : e->cap - e->used - 1;
    e->buf[e->used] = '\0';
}

/* Splits a comma-separated desk list into cfg->desks; -EINVAL on a bad name. */
static int set_desks(tc_config *cfg, const char *list, errs *e)
{
    gchar **parts = g_strsplit(list, ",", -1);
    int n = 0, rc = 0;
    for (gchar **p = parts; *p; p++) {
        g_strstrip(*p);
        if (**p == '\0')
            continue;
        size_t len = strlen(*p);
        bool ok = len < TC_DESK_NAME_MAX && n < TC_MAX_DESKS;
        for (size_t i = 0; ok && i < len; i++)
            ok = g_ascii_islower((*p)[i]) || g_ascii_isdigit((*p)[i]) || (*p)[i] == '_';
        if (!ok) {
            add_err(e, "routing.desks: bad desk name '%s' (a-z, 0-9, _; at most %d)", *p,
                    TC_MAX_DESKS);
            rc = -EINVAL;
            break;
        }
        copy(cfg->desks[n++], TC_DESK_NAME_MAX, *p);
    }
    g_strfreev(parts);
    if (rc == 0 && n == 0) {
        add_err(e, "routing.desks: no desk configured");
        rc = -EINVAL;
    }
    if (rc == 0)
        cfg->desk_count = n;
    return rc;
}

void tc_config_defaults(tc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    copy(cfg->address, sizeof cfg->address, "127.0.0.1");
    cfg->port = 8443;
    copy(cfg->public_url, sizeof cfg->public_url, "https://localhost:8443");
    copy(cfg->tls_cert, sizeof cfg->tls_cert, "certs/dev-cert.pem");
    copy(cfg->tls_key, sizeof cfg->tls_key, "certs/dev-key.pem");
    copy(cfg->web_root, sizeof cfg->web_root, "web");
    cfg->log_level = TC_LOG_INFO;
    copy(cfg->db_path, sizeof cfg->db_path, "var/telecounter.db");
    errs none;
    errs_init(&none, NULL, 0);
    set_desks(cfg, "id_check,broadband,urgent_sim", &none);
    cfg->assignment = TC_ASSIGN_LONGEST_IDLE;
    cfg->ring_timeout_s = 20;
    cfg->after_call_work_s = 60;
    cfg->resume_window_s = 60;
    cfg->max_offers = 10;
    cfg->max_wait_s = 3600;
    cfg->login_failures = 5;
    cfg->login_window_s = 300;
    cfg->login_queue = 16;
    cfg->sessions_per_address = 50;
    cfg->joins_per_minute = 30;
    cfg->wait_estimate_default_s = 180;
    cfg->invite_validity_s = 600;
    cfg->invite_max_validity_s = 86400;
    cfg->invite_max_attempts = 5;
    cfg->invite_address_failures = 10;
    cfg->invite_address_window_s = 600;
    cfg->max_message_bytes = 65536;
    cfg->messages_per_s = 20;
    cfg->message_burst = 40;
    cfg->connections_per_address = 20;
    cfg->idle_timeout_s = 60;
    cfg->auth_token_ttl_s = 12 * 3600;
    cfg->service_level_s = 20;
    cfg->media_workers = 0;
    cfg->media_loopback = false;
    cfg->media_ice_tcp = false;
    copy(cfg->media_audio_codecs, sizeof cfg->media_audio_codecs, "opus");
    copy(cfg->media_video_codecs, sizeof cfg->media_video_codecs, "VP8,H264");
    cfg->media_max_bitrate_bps = 2500000;
    cfg->media_grace_s = 15;
    cfg->media_nack_buffer_kib = 64;
    cfg->media_hold_audio = true;
    cfg->io_uring = true;
}

typedef struct int_key {
    const char *group, *key;
    size_t offset;
    int min, max;
} int_key;

#define INT_KEY(g, k, field, lo, hi)                                                               \
    {                                                                                              \
        g, k, offsetof(tc_config, field), lo, hi                                                   \
    }
static const int_key int_keys[] = {
    INT_KEY("server", "port", port, 1, 65535),
    INT_KEY("routing", "ring_timeout_s", ring_timeout_s, 3, 300),
    INT_KEY("routing", "after_call_work_s", after_call_work_s, 0, 3600),
    INT_KEY("routing", "resume_window_s", resume_window_s, 0, 3600),
    INT_KEY("routing", "max_offers", max_offers, 0, 1000),
    INT_KEY("routing", "max_wait_s", max_wait_s, 0, 86400),
    INT_KEY("routing", "wait_estimate_default_s", wait_estimate_default_s, 1, 36000),
    INT_KEY("invites", "validity_s", invite_validity_s, 30, 7 * 86400),
    INT_KEY("invites", "max_validity_s", invite_max_validity_s, 30, 7 * 86400),
    INT_KEY("invites", "max_attempts", invite_max_attempts, 1, 100),
    INT_KEY("invites", "address_failures", invite_address_failures, 1, 10000),
    INT_KEY("invites", "address_window_s", invite_address_window_s, 1, 86400),
    INT_KEY("limits", "max_message_bytes", max_message_bytes, 1024, 1 << 20),
    INT_KEY("limits", "messages_per_s", messages_per_s, 1, 10000),
    INT_KEY("limits", "message_burst", message_burst, 1, 100000),
    INT_KEY("limits", "connections_per_address", connections_per_address, 1, 1000000),
    INT_KEY("limits", "idle_timeout_s", idle_timeout_s, 5, 3600),
    INT_KEY("limits", "auth_token_ttl_s", auth_token_ttl_s, 60, 30 * 86400),
    INT_KEY("limits", "login_failures", login_failures, 1, 1000),
    INT_KEY("limits", "login_window_s", login_window_s, 10, 86400),
    INT_KEY("limits", "login_queue", login_queue, 1, 10000),
    INT_KEY("limits", "sessions_per_address", sessions_per_address, 1, 1000000),
    INT_KEY("limits", "joins_per_minute", joins_per_minute, 1, 1000000),
    INT_KEY("ops", "service_level_s", service_level_s, 1, 3600),
    INT_KEY("media", "workers", media_workers, 0, 256),
    INT_KEY("media", "port_min", media_port_min, 0, 65535),
    INT_KEY("media", "port_max", media_port_max, 0, 65535),
    INT_KEY("media", "max_bitrate_bps", media_max_bitrate_bps, 50000, 100000000),
    INT_KEY("media", "grace_s", media_grace_s, 1, 600),
    INT_KEY("media", "nack_buffer_kib", media_nack_buffer_kib, 2, 4096),
};

typedef struct str_key {
    const char *group, *key;
    size_t offset, cap;
} str_key;

#define STR_KEY(g, k, field)                                                                       \
    {                                                                                              \
        g, k, offsetof(tc_config, field), sizeof(((tc_config *)0)->field)                          \
    }
static const str_key str_keys[] = {
    STR_KEY("server", "address", address),
    STR_KEY("server", "public_url", public_url),
    STR_KEY("server", "tls_cert", tls_cert),
    STR_KEY("server", "tls_key", tls_key),
    STR_KEY("server", "web_root", web_root),
    STR_KEY("server", "allowed_origins", allowed_origins),
    STR_KEY("store", "path", db_path),
    STR_KEY("invites", "key", invite_key_hex),
    STR_KEY("ops", "timezone", ops_timezone),
    STR_KEY("media", "interfaces", media_interfaces),
    STR_KEY("media", "public_address", media_public_address),
    STR_KEY("media", "audio_codecs", media_audio_codecs),
    STR_KEY("media", "video_codecs", media_video_codecs),
};

typedef struct bool_key {
    const char *group, *key;
    size_t offset;
} bool_key;

#define BOOL_KEY(g, k, field)                                                                      \
    {                                                                                              \
        g, k, offsetof(tc_config, field)                                                           \
    }
static const bool_key bool_keys[] = {
    BOOL_KEY("server", "io_uring", io_uring),
    BOOL_KEY("media", "loopback", media_loopback),
    BOOL_KEY("media", "ice_tcp", media_ice_tcp),
    BOOL_KEY("media", "hold_audio", media_hold_audio),
};

static void read_bools(tc_config *cfg, GKeyFile *kf, errs *e)
{
    for (size_t i = 0; i < sizeof bool_keys / sizeof bool_keys[0]; i++) {
        const bool_key *k = &bool_keys[i];
        if (!g_key_file_has_key(kf, k->group, k->key, NULL))
            continue;
        GError *gerr = NULL;
        gboolean v = g_key_file_get_boolean(kf, k->group, k->key, &gerr);
        if (gerr) {
            add_err(e, "%s.%s: expected true or false", k->group, k->key);
            g_clear_error(&gerr);
            continue;
        }
        *(bool *)((char *)cfg + k->offset) = v;
    }
}

static void read_ints(tc_config *cfg, GKeyFile *kf, errs *e)
{
    for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++) {
        const int_key *k = &int_keys[i];
        if (!g_key_file_has_key(kf, k->group, k->key, NULL))
            continue;
        GError *gerr = NULL;
        gint v = g_key_file_get_integer(kf, k->group, k->key, &gerr);
        if (gerr || v < k->min || v > k->max) {
            add_err(e, "%s.%s: expected a whole number from %d to %d", k->group, k->key, k->min,
                    k->max);
            g_clear_error(&gerr);
            continue;
        }
        *(int *)((char *)cfg + k->offset) = v;
    }
}

static void read_strings(tc_config *cfg, GKeyFile *kf, errs *e)
{
    for (size_t i = 0; i < sizeof str_keys / sizeof str_keys[0]; i++) {
        const str_key *k = &str_keys[i];
        gchar *v = g_key_file_get_string(kf, k->group, k->key, NULL);
        if (!v)
            continue;
        g_strstrip(v);
        size_t len = strlen(v);
        if (len >= k->cap)
            add_err(e, "%s.%s: longer than %zu characters", k->group, k->key, k->cap - 1);
        else
            memcpy((char *)cfg + k->offset, v, len + 1);
        g_free(v);
    }
}

/* The enumerations and lists: log.level, routing.desks, routing.assignment. */
static void read_choices(tc_config *cfg, GKeyFile *kf, errs *e)
{
    gchar *v = g_key_file_get_string(kf, "log", "level", NULL);
    if (v) {
        tc_log_level level;
        if (tc_log_level_parse(g_strstrip(v), &level) == 0)
            cfg->log_level = level;
        else
            add_err(e, "log.level: expected error, warn, info or debug");
        g_free(v);
    }
    v = g_key_file_get_string(kf, "routing", "desks", NULL);
    if (v) {
        set_desks(cfg, v, e);
        g_free(v);
    }
    v = g_key_file_get_string(kf, "routing", "assignment", NULL);
    if (v) {
        g_strstrip(v);
        if (strcmp(v, "longest_idle") == 0)
            cfg->assignment = TC_ASSIGN_LONGEST_IDLE;
        else if (strcmp(v, "random") == 0)
            cfg->assignment = TC_ASSIGN_RANDOM;
        else
            add_err(e, "routing.assignment: expected longest_idle or random");
        g_free(v);
    }
}

/* Keys read outside the three tables above (by read_choices). A key added to
 * none of these lists is reported as unknown: add every new key to one. */
static const struct {
    const char *group, *key;
} other_keys[] = {{"log", "level"}, {"routing", "desks"}, {"routing", "assignment"}};

/* Calls fn for each known group.key until it returns true. */
static bool each_known_key(bool (*fn)(void *user, const char *group, const char *key), void *user)
{
    for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++)
        if (fn(user, int_keys[i].group, int_keys[i].key))
            return true;
    for (size_t i = 0; i < sizeof str_keys / sizeof str_keys[0]; i++)
        if (fn(user, str_keys[i].group, str_keys[i].key))
            return true;
    for (size_t i = 0; i < sizeof bool_keys / sizeof bool_keys[0]; i++)
        if (fn(user, bool_keys[i].group, bool_keys[i].key))
            return true;
    for (size_t i = 0; i < sizeof other_keys / sizeof other_keys[0]; i++)
        if (fn(user, other_keys[i].group, other_keys[i].key))
            return true;
    return false;
}

/* Edit distance with transpositions (optimal string alignment), for "did you
 * mean"; names longer than 63 characters are simply "far". */
static int distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 99;
    int d[64][64];
    for (size_t i = 0; i <= n; i++)
        for (size_t j = 0; j <= m; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int cost = a[i - 1] != b[j - 1];
            int v = MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = MIN(v, d[i - 2][j - 2] + 1);
            d[i][j] = v;
        }
    return d[n][m];
}

typedef struct lookup {
    const char *group, *key; /* key NULL: looking for a group */
    bool found;
    int best;
    char hint[96];
} lookup;

static bool match_key(void *user, const char *group, const char *key)
{
    lookup *l = user;
    if (!l->key) {
        if (strcmp(group, l->group) == 0)
            return l->found = true;
        int dist = distance(l->group, group);
        if (dist < l->best) {
            l->best = dist;
            snprintf(l->hint, sizeof l->hint, "[%s]", group);
        }
        return false;
    }
    if (strcmp(group, l->group) == 0 && strcmp(key, l->key) == 0)
        return l->found = true;
    /* A right key in the wrong group is a near miss too. */
    int dist = distance(l->key, key) + (strcmp(group, l->group) != 0);
    if (dist < l->best) {
        l->best = dist;
        snprintf(l->hint, sizeof l->hint, "%s.%s", group, key);
    }
    return false;
}

/* Unknown groups and keys are errors: a misspelt key would otherwise leave its
 * default in force without a word. */
static void check_names(GKeyFile *kf, errs *e)
{
    gchar **groups = g_key_file_get_groups(kf, NULL);
    for (gchar **g = groups; *g; g++) {
        lookup l = {.group = *g, .best = 3};
        if (!each_known_key(match_key, &l)) {
            add_err(e, "[%s]: unknown group%s%s%s", *g, l.hint[0] ? " (did you mean " : "", l.hint,
                    l.hint[0] ? "?)" : "");
            continue;
        }
        gchar **keys = g_key_file_get_keys(kf, *g, NULL, NULL);
        for (gchar **k = keys; k && *k; k++) {
            l = (lookup){.group = *g, .key = *k, .best = 3};
            if (!each_known_key(match_key, &l))
                add_err(e, "%s.%s: unknown key%s%s%s", *g, *k, l.hint[0] ? " (did you mean " : "",
                        l.hint, l.hint[0] ? "?)" : "");
        }
        g_strfreev(keys);
    }
    g_strfreev(groups);
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void check(const tc_config *cfg, errs *e)
{
    if (!is_ip_literal(cfg->address))
        add_err(e, "server.address: '%s' is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1)",
                cfg->address);
    GTimeZone *tz = tc_timezone_open(cfg->ops_timezone);
    if (!tz)
        add_err(e, "ops.timezone: '%s' is not a time zone (an IANA name, e.g. Asia/Shanghai)",
                cfg->ops_timezone);
    else
        g_time_zone_unref(tz);
    if (cfg->media_port_min > cfg->media_port_max)
        add_err(e, "media.port_min is above media.port_max");
    if (cfg->invite_validity_s > cfg->invite_max_validity_s)
        add_err(e, "invites.validity_s is above invites.max_validity_s");
    size_t key_len = strlen(cfg->invite_key_hex);
    bool key_ok = key_len == 0 || key_len == 64;
    for (size_t i = 0; key_ok && i < key_len; i++)
        key_ok = g_ascii_isxdigit(cfg->invite_key_hex[i]);
    if (!key_ok)
        add_err(e, "invites.key (or TC_INVITE_KEY): expected 64 hex characters");
}

int tc_config_load(tc_config *cfg, const char *path, char *err, size_t err_len)
{
    tc_config_defaults(cfg);
    errs e;
    errs_init(&e, err, err_len);
    if (path) {
        GKeyFile *kf = g_key_file_new();
        GError *gerr = NULL;
        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr)) {
            add_err(&e, "%s: %s", path, gerr->message);
            g_error_free(gerr);
            g_key_file_free(kf);
            return -EBADMSG;
        }
        check_names(kf, &e);
        read_ints(cfg, kf, &e);
        read_strings(cfg, kf, &e);
        read_bools(cfg, kf, &e);
        read_choices(cfg, kf, &e);
        g_key_file_free(kf);
    }
    const char *key = getenv("TC_INVITE_KEY");
    if (key && *key) {
        /* Never cut a secret to fit: a wrong length is a wrong key. */
        if (strlen(key) != 64)
            add_err(&e, "TC_INVITE_KEY: expected 64 hex characters");
        else
            memcpy(cfg->invite_key_hex, key, 65);
    }
    check(cfg, &e);
    return e.count ? -EINVAL : 0;
}

/* One named file the server must be able to read. */
static void check_readable(errs *e, const char *name, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        add_err(e, "%s: cannot read '%s': %s", name, path, strerror(errno));
    else if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
        add_err(e, "%s: '%s' is not a file", name, path);
    if (fd >= 0)
        close(fd);
}

static void check_directory(errs *e, const char *name, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        add_err(e, "%s: directory '%s': %s", name, path, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        add_err(e, "%s: '%s' is not a directory", name, path);
    else if (access(path, R_OK | X_OK) != 0)
        add_err(e, "%s: cannot read directory '%s': %s", name, path, strerror(errno));
}

int tc_config_check_files(const tc_config *cfg, char *err, size_t err_len)
{
    errs e;
    errs_init(&e, err, err_len);
    check_readable(&e, "server.tls_cert", cfg->tls_cert);
    check_readable(&e, "server.tls_key", cfg->tls_key);
    check_directory(&e, "server.web_root", cfg->web_root);
    if (cfg->db_path[0] && strcmp(cfg->db_path, ":memory:") != 0) {
        gchar *dir = g_path_get_dirname(cfg->db_path);
        check_directory(&e, "store.path", dir);
        g_free(dir);
    }
    return e.count ? -EINVAL : 0;
}

int tc_config_desk_index(const tc_config *cfg, const char *desk)
{
    for (int i = 0; i < cfg->desk_count; i++)
        if (strcmp(cfg->desks[i], desk) == 0)
            return i;
    return -1;
}
