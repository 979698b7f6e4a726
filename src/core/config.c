#include "telecounter/config.h"

#include "telecounter/log.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* Splits a comma-separated desk list into cfg->desks; -EINVAL on a bad name. */
static int set_desks(tc_config *cfg, const char *list, char *err, size_t err_len)
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
            snprintf(err, err_len, "routing.desks: bad desk name '%s' (a-z, 0-9, _; at most %d)",
                     *p, TC_MAX_DESKS);
            rc = -EINVAL;
            break;
        }
        copy(cfg->desks[n++], TC_DESK_NAME_MAX, *p);
    }
    g_strfreev(parts);
    if (rc == 0 && n == 0) {
        snprintf(err, err_len, "routing.desks: no desk configured");
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
    char err[128];
    set_desks(cfg, "id_check,broadband,urgent_sim", err, sizeof err);
    cfg->assignment = TC_ASSIGN_LONGEST_IDLE;
    cfg->ring_timeout_s = 20;
    cfg->after_call_work_s = 60;
    cfg->resume_window_s = 60;
    cfg->max_offers = 10;
    cfg->max_wait_s = 3600;
    cfg->login_failures = 5;
    cfg->login_window_s = 300;
    cfg->login_queue = 16;
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

static int read_bools(tc_config *cfg, GKeyFile *kf, char *err, size_t err_len)
{
    for (size_t i = 0; i < sizeof bool_keys / sizeof bool_keys[0]; i++) {
        const bool_key *k = &bool_keys[i];
        if (!g_key_file_has_key(kf, k->group, k->key, NULL))
            continue;
        GError *gerr = NULL;
        gboolean v = g_key_file_get_boolean(kf, k->group, k->key, &gerr);
        if (gerr) {
            snprintf(err, err_len, "%s.%s: expected true or false", k->group, k->key);
            g_clear_error(&gerr);
            return -EINVAL;
        }
        *(bool *)((char *)cfg + k->offset) = v;
    }
    return 0;
}

static int read_ints(tc_config *cfg, GKeyFile *kf, char *err, size_t err_len)
{
    for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++) {
        const int_key *k = &int_keys[i];
        if (!g_key_file_has_key(kf, k->group, k->key, NULL))
            continue;
        GError *gerr = NULL;
        gint v = g_key_file_get_integer(kf, k->group, k->key, &gerr);
        if (gerr || v < k->min || v > k->max) {
            snprintf(err, err_len, "%s.%s: expected a whole number from %d to %d", k->group, k->key,
                     k->min, k->max);
            g_clear_error(&gerr);
            return -EINVAL;
        }
        *(int *)((char *)cfg + k->offset) = v;
    }
    return 0;
}

static int read_strings(tc_config *cfg, GKeyFile *kf, char *err, size_t err_len)
{
    for (size_t i = 0; i < sizeof str_keys / sizeof str_keys[0]; i++) {
        const str_key *k = &str_keys[i];
        gchar *v = g_key_file_get_string(kf, k->group, k->key, NULL);
        if (!v)
            continue;
        g_strstrip(v);
        size_t len = strlen(v);
        if (len >= k->cap) {
            snprintf(err, err_len, "%s.%s: longer than %zu characters", k->group, k->key,
                     k->cap - 1);
            g_free(v);
            return -EINVAL;
        }
        memcpy((char *)cfg + k->offset, v, len + 1);
        g_free(v);
    }
    return 0;
}

/* The enumerations and lists: log.level, routing.desks, routing.assignment. */
static int read_choices(tc_config *cfg, GKeyFile *kf, char *err, size_t err_len)
{
    int rc = 0;
    gchar *v = g_key_file_get_string(kf, "log", "level", NULL);
    if (v) {
        tc_log_level level;
        if (tc_log_level_parse(g_strstrip(v), &level) == 0)
            cfg->log_level = level;
        else {
            snprintf(err, err_len, "log.level: expected error, warn, info or debug");
            rc = -EINVAL;
        }
        g_free(v);
    }
    v = rc ? NULL : g_key_file_get_string(kf, "routing", "desks", NULL);
    if (v) {
        rc = set_desks(cfg, v, err, err_len);
        g_free(v);
    }
    v = rc ? NULL : g_key_file_get_string(kf, "routing", "assignment", NULL);
    if (v) {
        g_strstrip(v);
        if (strcmp(v, "longest_idle") == 0)
            cfg->assignment = TC_ASSIGN_LONGEST_IDLE;
        else if (strcmp(v, "random") == 0)
            cfg->assignment = TC_ASSIGN_RANDOM;
        else {
            snprintf(err, err_len, "routing.assignment: expected longest_idle or random");
            rc = -EINVAL;
        }
        g_free(v);
    }
    return rc;
}

static int check(const tc_config *cfg, char *err, size_t err_len)
{
    if (cfg->media_port_min > cfg->media_port_max) {
        snprintf(err, err_len, "media.port_min is above media.port_max");
        return -EINVAL;
    }
    if (cfg->invite_validity_s > cfg->invite_max_validity_s) {
        snprintf(err, err_len, "invites.validity_s is above invites.max_validity_s");
        return -EINVAL;
    }
    size_t key_len = strlen(cfg->invite_key_hex);
    if (key_len != 0 && key_len != 64) {
        snprintf(err, err_len, "invites.key (or TC_INVITE_KEY): expected 64 hex characters");
        return -EINVAL;
    }
    for (size_t i = 0; i < key_len; i++) {
        if (!g_ascii_isxdigit(cfg->invite_key_hex[i])) {
            snprintf(err, err_len, "invites.key (or TC_INVITE_KEY): expected 64 hex characters");
            return -EINVAL;
        }
    }
    return 0;
}

int tc_config_load(tc_config *cfg, const char *path, char *err, size_t err_len)
{
    tc_config_defaults(cfg);
    err[0] = '\0';
    int rc = 0;
    if (path) {
        GKeyFile *kf = g_key_file_new();
        GError *gerr = NULL;
        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr)) {
            snprintf(err, err_len, "%s: %s", path, gerr->message);
            g_error_free(gerr);
            g_key_file_free(kf);
            return -EINVAL;
        }
        rc = read_ints(cfg, kf, err, err_len);
        if (rc == 0)
            rc = read_strings(cfg, kf, err, err_len);
        if (rc == 0)
            rc = read_bools(cfg, kf, err, err_len);
        if (rc == 0)
            rc = read_choices(cfg, kf, err, err_len);
        g_key_file_free(kf);
        if (rc)
            return rc;
    }
    const char *key = getenv("TC_INVITE_KEY");
    if (key && *key) {
        /* Never cut a secret to fit: a wrong length is a wrong key. */
        if (strlen(key) != 64) {
            snprintf(err, err_len, "TC_INVITE_KEY: expected 64 hex characters");
            return -EINVAL;
        }
        memcpy(cfg->invite_key_hex, key, 65);
    }
    return check(cfg, err, err_len);
}

int tc_config_desk_index(const tc_config *cfg, const char *desk)
{
    for (int i = 0; i < cfg->desk_count; i++)
        if (strcmp(cfg->desks[i], desk) == 0)
            return i;
    return -1;
}
