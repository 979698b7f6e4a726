/*
 * main.c: wiring only. Reads the configuration, opens the store, starts the
 * server on a GLib main loop and runs it until SIGTERM or SIGINT; SIGHUP
 * reloads the TLS certificate. Every TC_HEAP_TRIM_S it gives freed heap pages
 * back to the kernel.
 */
#include "build_info.h"
#include "telecounter/config.h"
#include "telecounter/log.h"
#include "telecounter/random.h"
#include "telecounter/server.h"
#include "telecounter/store.h"

#include "telecounter/clock.h"

#include <glib-unix.h>
#include <libwebsockets.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

typedef struct app {
    GMainLoop *loop;
    tc_server *server;
    bool stopping;
} app;

static void usage(FILE *out)
{
    fprintf(out, "usage: telecounter [--config FILE] [--check-config] [--help] [--version]\n"
                 "\n"
                 "Runs the telecounter server: HTTPS pages, the WebSocket signaling protocol\n"
                 "(docs/protocol.md) and routing, on the address and port of the config.\n"
                 "\n"
                 "  --config FILE    read FILE (INI; every key: telecounter.conf.example)\n"
                 "  --check-config   read the configuration, report, and exit\n"
                 "  --version        print the version and the SRTP backend\n"
                 "\n"
                 "Environment: TC_INVITE_KEY overrides invites.key.\n"
                 "Signals: SIGTERM/SIGINT stop cleanly (open sessions are recorded as ended),\n"
                 "SIGHUP reloads the TLS certificate and key.\n");
}

/* glibc returns memory at the top of a heap by itself, but not whole free pages
 * in its middle: after a burst (a wave of TLS and DTLS handshakes, each with
 * tens of KiB of short-lived buffers) they stay resident, pinned by the
 * long-lived allocations around them. malloc_trim releases them, in every
 * arena; 2 MiB of 50 with 100 calls (README, Benchmarks). The media workers
 * do not allocate per packet, so the arena locks it takes do not stall them. */
#define TC_HEAP_TRIM_S 10

static gboolean on_heap_trim(gpointer data)
{
    (void)data;
    int64_t t0 = g_get_monotonic_time();
    int released = malloc_trim(0);
    tc_debug("heap trim: %s in %" PRId64 " us", released ? "released pages" : "nothing to release",
             g_get_monotonic_time() - t0);
    return G_SOURCE_CONTINUE;
}

/* The store's health is checked on every /readyz; this also checks it when
 * nobody asks, so that a database file deleted under the server, or a disk
 * that stopped taking writes, is logged at once (tc_store_health logs changes). */
#define TC_STORE_CHECK_S 10

static gboolean on_store_check(gpointer data)
{
    char reason[160];
    tc_store_health(data, g_get_monotonic_time() / 1000, reason, sizeof reason);
    return G_SOURCE_CONTINUE;
}

static gboolean quit_loop(gpointer data)
{
    g_main_loop_quit(((app *)data)->loop);
    return G_SOURCE_REMOVE;
}

static gboolean on_stop_signal(gpointer data)
{
    app *a = data;
    if (a->stopping)
        return G_SOURCE_CONTINUE;
    a->stopping = true;
    tc_info("stopping: ending open sessions");
    tc_server_shutdown(a->server);
    /* Let the loop write the news of the ends before the connections close. */
    g_timeout_add(300, quit_loop, a);
    return G_SOURCE_CONTINUE;
}

static gboolean on_hup(gpointer data)
{
    tc_server_reload_tls(((app *)data)->server);
    return G_SOURCE_CONTINUE;
}

/* Each connection is a descriptor; the soft limit (often 1024) is too low. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_args(int argc, char **argv, const char **config_path, bool *check_only)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            *config_path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            *check_only = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("telecounter %s\nsrtp: %s\nlibwebsockets: %s\n", TC_VERSION, TC_SRTP_BACKEND,
                   lws_get_library_version());
            return 0;
        } else {
            fprintf(stderr, "telecounter: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

/* Reads and checks the configuration the same way for --check-config and for a
 * start: every error is printed, one line each; -EINVAL if there was any. */
static int load_config(tc_config *cfg, const char *path)
{
    char err[8192];
    int rc = tc_config_load(cfg, path, err, sizeof err);
    /* A file that cannot be read has no names in it to check on disk. */
    if (rc != -EBADMSG) {
        size_t used = strlen(err);
        if (tc_config_check_files(cfg, err + used + (used > 0), sizeof err - used - 1) != 0) {
            if (used > 0)
                err[used] = '\n';
            rc = -EINVAL;
        }
    }
    for (char *line = err, *next; rc != 0 && line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        fprintf(stderr, "telecounter: configuration: %s\n", line);
    }
    return rc;
}

static int run(const tc_config *cfg)
{
    tc_store *store = tc_store_open(cfg->db_path);
    if (!store)
        return 1;
    int open = 0;
    tc_store_session_end_all_open(store, "server_shutdown", tc_clock_wall_ms(), &open);
    if (open)
        tc_warn("%d sessions left open by an unclean stop were ended as server_shutdown", open);
    app a = {.loop = g_main_loop_new(NULL, FALSE)};
    a.server = tc_server_create(cfg, store, a.loop);
    int rc = 1;
    if (a.server) {
        guint term = g_unix_signal_add(SIGTERM, on_stop_signal, &a);
        guint intr = g_unix_signal_add(SIGINT, on_stop_signal, &a);
        guint hup = g_unix_signal_add(SIGHUP, on_hup, &a);
        guint trim = g_timeout_add_seconds(TC_HEAP_TRIM_S, on_heap_trim, NULL);
        guint check = g_timeout_add_seconds(TC_STORE_CHECK_S, on_store_check, store);
        g_main_loop_run(a.loop);
        g_source_remove(check);
        g_source_remove(trim);
        g_source_remove(term);
        g_source_remove(intr);
        g_source_remove(hup);
        tc_server_destroy(a.server);
        rc = 0;
    }
    g_main_loop_unref(a.loop);
    tc_store_close(store);
    tc_info("stopped");
    return rc;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    bool check_only = false;
    int rc = parse_args(argc, argv, &config_path, &check_only);
    if (rc >= 0)
        return rc;
    static tc_config cfg; /* read once here, immutable afterwards */
    if (load_config(&cfg, config_path) != 0)
        return 2;
    if (check_only) {
        printf("configuration OK: %s:%d, database %s, %d desks\n", cfg.address, cfg.port,
               cfg.db_path, cfg.desk_count);
        return 0;
    }
    tc_log_set_level((tc_log_level)cfg.log_level);
    if (tc_random_init() != 0) {
        tc_error("no source of randomness");
        return 1;
    }
    raise_fd_limit();
    tc_info("telecounter %s starting (%s)", TC_VERSION, TC_SRTP_BACKEND);
    return run(&cfg);
}
