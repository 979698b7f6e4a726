/*
 * tc-bench_media: the media relay's cost, measured. Runs K concurrent calls
 * (a customer and an agent test peer each, 1.5 Mbps video + Opus both ways)
 * through a real telecounter on 127.0.0.1, the server pinned to one CPU with
 * one media worker and the peers (all in this process, on one GLib loop)
 * pinned to another, and prints what the relay costs in a steady-state
 * window. A benchmark, not a test: it prints figures and exits 0 when the
 * run completed (whatever the figures), 1 when it could not run.
 *
 *   tc-bench_media [--calls K] [--duration S] [--warmup S] [--server-cpu N]
 *                  [--peer-cpu N] [--bin DIR] [--web-root DIR] [--keep] [--json]
 *
 * Figures (window = --duration seconds once every call carries media, after
 * --warmup seconds more):
 * - forwarded packets: RTP packets (audio, video, rtx) the peers received
 *   through the relay in the window; RTCP is not counted (the relay
 *   terminates SR/RR and writes its own);
 * - server CPU-us per forwarded packet: utime+stime of the server process
 *   (/proc/PID/stat, every thread: signaling, stats, the media worker) over
 *   the window, divided by the forwarded packets;
 * - video loss: from the senders' own sequence numbers, over the window;
 * - added latency: one-way, send stamp in every video packet to receipt
 *   (same host, same clock), histogram reset at the window's start; p50 is
 *   the median over receivers of their p50, p99 the median and the worst of
 *   their p99;
 * - RSS per call: server VmRSS in the window minus VmRSS before any peer
 *   connected, divided by K (so it includes both sides' signaling);
 * - setup: the agent's offer (sent on agent.accept.ok) to DTLS connected,
 *   as the agent peer reports it (offer_to_dtls_ms), p50 and p95;
 * - accept -> bridged: agent.accept.ok to the first video packet from the
 *   customer at the agent (answer_to_video_ms), p50 and p95: what the agent
 *   waits before the customer is on screen, the customer's leg being up
 *   already.
 * The peers' own CPU use over the window is printed too: near 100 % means
 * the peers, not the relay, are the limit.
 *
 * Order: the agents log in first and stay offline (a login's Argon2id is
 * ~60 ms of the server's one core: during calls it reads as slow set-up);
 * then the customers join and offer; then the agents go available one by
 * one and accept, so that every customer leg is up (on hold audio) when its
 * call is bridged, as in the product. (Legs whose customer offers after the
 * answer are joined too: test_media_peers.py.)
 *
 * Network: the server listens and gathers only on 127.0.0.1, the peers
 * gather only there (TESTING.md). Processes: the one server this tool
 * starts, ended by its PID. Everything it made lives in one temp dir,
 * removed at the end (unless --keep).
 */
#include "peer/host.h"
#include "peer/peer.h"

#include "telecounter/log.h"

#include <errno.h>
#include <getopt.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD "bench horse battery staple"
/* A login costs the server an Argon2id hash (~60 ms of CPU here), on the
 * server's one core: logins are spread out, and done before any call. */
#define LOGIN_STAGGER_MS 100
#define AGENT_STAGGER_MS 120
#define CUSTOMER_STAGGER_MS 40
#define POLL_MS 500

typedef struct {
    unsigned calls, duration_s, warmup_s;
    int server_cpu, peer_cpu;
    const char *bin_dir, *web_root;
    bool keep, json, verbose;
} options;

typedef struct bench bench;

/* What the window's figures are differences of, read at its two ends. */
typedef struct {
    uint64_t server_ticks;      /* the server's utime+stime */
    struct rusage peers;        /* this process: the peers */
    uint64_t busy[2], total[2]; /* the server's and the peers' CPU, jiffies */
    int64_t at_us;
} clocks;

typedef struct {
    bench *b;
    tc_peer_config cfg;
    char name[32];
    tc_peer *peer;
    bool done;
    tc_peer_results res;
    tc_peer_media_stats start; /* at the window's start */
} slot;

typedef enum { PH_LOGINS, PH_CUSTOMERS, PH_AGENTS, PH_RAMP, PH_WARMUP, PH_WINDOW, PH_DONE } phase;

struct bench {
    options o;
    GMainLoop *loop;
    tc_peer_env *env;
    char url[64];
    char tmp[64];
    pid_t server;
    slot *agents, *customers;
    unsigned started_agents, started_customers, available_agents, finished_early;
    phase ph;
    GSource *tick, *hard_stop;
    int64_t phase_us, ramp_deadline_us;
    long rss0_kib, rss_kib;
    clocks at_open, at_close; /* the window's ends */
    char first_error[200];
    bool aborted;
};

/* ---- small helpers -------------------------------------------------------- */

static int64_t now_us(void)
{
    return g_get_monotonic_time();
}

static int run(char **argv, char **envp)
{
    gint status = -1;
    gchar *err_out = NULL;
    GError *error = NULL;
    gchar *std_out = NULL;
    gboolean spawned = g_spawn_sync(NULL, argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &std_out,
                                    &err_out, &status, &error);
    g_free(std_out);
    if (!spawned) {
        fprintf(stderr, "bench: %s: %s\n", argv[0], error->message);
        g_error_free(error);
        return -1;
    }
    if (!g_spawn_check_wait_status(status, NULL))
        fprintf(stderr, "bench: %s failed: %s\n", argv[0], err_out ? err_out : "");
    g_free(err_out);
    return g_spawn_check_wait_status(status, NULL) ? 0 : -1;
}

/* ---- the server ------------------------------------------------------------ */

static int write_config(bench *b, int port)
{
    gchar *conf = g_strdup_printf(
        "[server]\naddress=127.0.0.1\nport=%d\npublic_url=https://localhost:%d\n"
        "allowed_origins=https://127.0.0.1:%d,https://localhost:%d\n"
        "tls_cert=%s/cert.pem\ntls_key=%s/key.pem\nweb_root=%s\n\n"
        "[store]\npath=%s/telecounter.db\n\n[log]\nlevel=warn\n\n"
        "[routing]\nring_timeout_s=30\nafter_call_work_s=60\nresume_window_s=60\n\n"
        "[limits]\nmessages_per_s=1000\nmessage_burst=1000\nconnections_per_address=100000\n"
        "sessions_per_address=100000\njoins_per_minute=100000\nidle_timeout_s=600\n\n"
        "[media]\nworkers=1\nloopback=true\ngrace_s=15\nhold_audio=true\n",
        port, port, port, port, b->tmp, b->tmp, b->o.web_root, b->tmp);
    gchar *path = g_strdup_printf("%s/telecounter.conf", b->tmp);
    gboolean ok = g_file_set_contents(path, conf, -1, NULL);
    g_free(conf);
    g_free(path);
    return ok ? 0 : -1;
}

static int make_cert(bench *b)
{
    gchar *key = g_strdup_printf("%s/key.pem", b->tmp);
    gchar *cert = g_strdup_printf("%s/cert.pem", b->tmp);
    char *argv[] = {"openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    key,
                    "-out",
                    cert,
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                    NULL};
    int rc = run(argv, NULL);
    g_free(key);
    g_free(cert);
    return rc;
}

static int add_agents(bench *b)
{
    gchar *admin = g_strdup_printf("%s/telecounter-admin", b->o.bin_dir);
    gchar *conf = g_strdup_printf("%s/telecounter.conf", b->tmp);
    gchar *db = g_strdup_printf("%s/telecounter.db", b->tmp);
    gchar **envp = g_environ_setenv(g_get_environ(), "TC_PASSWORD", PASSWORD, TRUE);
    int rc = 0;
    for (unsigned i = 0; i < b->o.calls && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "bench%03u", i);
        char *argv[] = {admin, "--config", conf,    "--db",     db,          "add-account",
                        name,  "--role",   "agent", "--skills", "broadband", NULL};
        rc = run(argv, envp);
    }
    g_strfreev(envp);
    g_free(admin);
    g_free(conf);
    g_free(db);
    return rc;
}

static int start_server(bench *b, int port)
{
    gchar *bin = g_strdup_printf("%s/telecounter", b->o.bin_dir);
    gchar *conf = g_strdup_printf("%s/telecounter.conf", b->tmp);
    gchar *logp = g_strdup_printf("%s/server.log", b->tmp);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        tc_host_pin(0, b->o.server_cpu); /* as `taskset -c N` would */
        FILE *f = freopen(logp, "a", stderr);
        if (f)
            dup2(fileno(stderr), STDOUT_FILENO);
        execl(bin, bin, "--config", conf, (char *)NULL);
        _exit(127);
    }
    g_free(bin);
    g_free(conf);
    g_free(logp);
    if (pid < 0)
        return -1;
    b->server = pid;
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            b->server = 0;
            fprintf(stderr, "bench: the server exited at start (see %s/server.log)\n", b->tmp);
            return -1;
        }
        if (tc_host_port_open(port))
            return 0;
        g_usleep(100000);
    }
    fprintf(stderr, "bench: the server did not listen within 10 s\n");
    return -1;
}

static void stop_server(bench *b)
{
    if (b->server <= 0)
        return;
    kill(b->server, SIGTERM); /* our child, by its PID */
    for (int i = 0; i < 50; i++) {
        if (waitpid(b->server, NULL, WNOHANG) == b->server) {
            b->server = 0;
            return;
        }
        g_usleep(100000);
    }
    kill(b->server, SIGKILL);
    waitpid(b->server, NULL, 0);
    b->server = 0;
}

/* ---- peers --------------------------------------------------------------------- */

static void on_done(tc_peer *peer, const tc_peer_results *r, void *user)
{
    (void)peer;
    slot *s = user;
    s->done = true;
    s->res = *r;
    if (s->b->ph < PH_DONE) {
        s->b->finished_early++;
        if (!s->b->first_error[0])
            snprintf(s->b->first_error, sizeof s->b->first_error, "%s: %s", s->name,
                     r->error[0] ? r->error : "ended early");
    }
}

static void start_slot(bench *b, slot *s, bool agent, unsigned i)
{
    s->b = b;
    snprintf(s->name, sizeof s->name, "%s%03u", agent ? "agent" : "cust", i);
    s->cfg = (tc_peer_config){.url = b->url,
                              .role = agent ? TC_PEER_AGENT : TC_PEER_CUSTOMER,
                              .desk = "broadband",
                              .name = s->name,
                              .video_kbps = 1500,
                              .duration_s = 3600, /* the bench ends the calls itself */
                              .answer_timeout_s = 600};
    if (agent) {
        static char names[1024][16];
        snprintf(names[i % 1024], sizeof names[0], "bench%03u", i);
        s->cfg.username = names[i % 1024];
        s->cfg.password = PASSWORD;
        s->cfg.wait_available = true;
    }
    s->peer = tc_peer_create(b->env, &s->cfg, on_done, s);
    if (!s->peer || tc_peer_start(s->peer) != 0) {
        s->done = true;
        b->finished_early++;
        snprintf(b->first_error, sizeof b->first_error, "%s: could not start", s->name);
    }
}

static bool carries_media(const slot *s)
{
    tc_peer_media_stats m;
    return !s->done && tc_peer_media_now(s->peer, &m) && m.dtls_connected && m.video_received > 0 &&
           m.audio_received > 0;
}

static bool all_logged_in(const bench *b)
{
    for (unsigned i = 0; i < b->o.calls; i++)
        if (!b->agents[i].done && !tc_peer_logged_in(b->agents[i].peer))
            return false;
    return true;
}

static unsigned count_carrying(const bench *b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->o.calls; i++)
        n += carries_media(&b->agents[i]) + carries_media(&b->customers[i]);
    return n;
}

static void snapshot_all(bench *b)
{
    for (unsigned i = 0; i < b->o.calls; i++) {
        slot *ss[2] = {&b->agents[i], &b->customers[i]};
        for (int k = 0; k < 2; k++) {
            if (!ss[k]->done)
                tc_peer_reset_latency(ss[k]->peer);
            tc_peer_media_now(ss[k]->peer, &ss[k]->start);
        }
    }
}

/* ---- the run's phases, on a 50 ms tick ------------------------------------------ */

static void enter(bench *b, phase ph)
{
    b->ph = ph;
    b->phase_us = now_us();
}

/* Agents log in first and stay offline (see "Order" in the header). */
static void tick_logins(bench *b, int64_t in_phase_ms)
{
    if (b->started_agents == 0 && !b->rss0_kib) {
        b->rss0_kib = tc_host_rss_kib(b->server);
        fprintf(stderr, "bench: server VmRSS %ld KiB with no call\n", b->rss0_kib);
    }
    if (b->started_agents < b->o.calls &&
        in_phase_ms >= (int64_t)b->started_agents * LOGIN_STAGGER_MS) {
        start_slot(b, &b->agents[b->started_agents], true, b->started_agents);
        b->started_agents++;
    }
    if (b->started_agents == b->o.calls && all_logged_in(b))
        enter(b, PH_CUSTOMERS);
}

/* Customers next: each joins and offers, and its leg is up before an agent
 * accepts. */
static void tick_customers(bench *b, int64_t in_phase_ms)
{
    if (b->started_customers < b->o.calls &&
        in_phase_ms >= (int64_t)b->started_customers * CUSTOMER_STAGGER_MS) {
        start_slot(b, &b->customers[b->started_customers], false, b->started_customers);
        b->started_customers++;
    }
    if (b->started_customers == b->o.calls &&
        in_phase_ms >= (int64_t)b->o.calls * CUSTOMER_STAGGER_MS + 1500)
        enter(b, PH_AGENTS);
}

/* Then the agents go available one by one, and each takes a call. */
static void tick_agents(bench *b, int64_t t, int64_t in_phase_ms)
{
    if (b->available_agents < b->o.calls &&
        in_phase_ms >= (int64_t)b->available_agents * AGENT_STAGGER_MS) {
        slot *s = &b->agents[b->available_agents++];
        if (!s->done)
            tc_peer_go_available(s->peer);
    }
    if (b->available_agents == b->o.calls) {
        enter(b, PH_RAMP);
        b->ramp_deadline_us = t + (int64_t)(30 + b->o.calls / 2) * 1000000;
    }
}

static void read_clocks(const bench *b, clocks *c)
{
    c->server_ticks = tc_host_cpu_ticks(b->server);
    getrusage(RUSAGE_SELF, &c->peers);
    tc_host_cpu_jiffies(b->o.server_cpu, &c->busy[0], &c->total[0]);
    tc_host_cpu_jiffies(b->o.peer_cpu, &c->busy[1], &c->total[1]);
    c->at_us = now_us();
}

static gboolean on_tick(gpointer data)
{
    bench *b = data;
    int64_t t = now_us();
    int64_t in_phase_ms = (t - b->phase_us) / 1000;
    static int64_t last_poll;
    switch (b->ph) {
    case PH_LOGINS:
        tick_logins(b, in_phase_ms);
        break;
    case PH_CUSTOMERS:
        tick_customers(b, in_phase_ms);
        break;
    case PH_AGENTS:
        tick_agents(b, t, in_phase_ms);
        break;
    case PH_RAMP:
        if (t - last_poll >= POLL_MS * 1000) {
            last_poll = t;
            unsigned n = count_carrying(b);
            if (n == 2 * b->o.calls || t >= b->ramp_deadline_us) {
                fprintf(stderr, "bench: %u of %u peers carry media after %.1f s of ramp\n", n,
                        2 * b->o.calls, (double)in_phase_ms / 1000);
                enter(b, PH_WARMUP);
            }
        }
        break;
    case PH_WARMUP:
        if (in_phase_ms >= (int64_t)b->o.warmup_s * 1000) {
            snapshot_all(b);
            read_clocks(b, &b->at_open);
            enter(b, PH_WINDOW);
        }
        break;
    case PH_WINDOW:
        if (in_phase_ms >= (int64_t)b->o.duration_s * 500 && !b->rss_kib)
            b->rss_kib = tc_host_rss_kib(b->server);
        if (in_phase_ms >= (int64_t)b->o.duration_s * 1000) {
            read_clocks(b, &b->at_close);
            enter(b, PH_DONE);
            g_main_loop_quit(b->loop);
        }
        break;
    case PH_DONE:
        break;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_hard_stop(gpointer data)
{
    bench *b = data;
    fprintf(stderr, "bench: hard time limit reached in phase %d; stopping\n", (int)b->ph);
    if (b->ph == PH_WINDOW) { /* a loop too busy to keep time: report the window so far */
        read_clocks(b, &b->at_close);
        if (!b->rss_kib)
            b->rss_kib = tc_host_rss_kib(b->server);
    } else {
        b->aborted = true;
    }
    g_main_loop_quit(b->loop);
    return G_SOURCE_REMOVE;
}

/* ---- figures --------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t pct(int64_t *v, size_t n, double q)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t i = (size_t)ceil(q * (double)n);
    return v[i ? i - 1 : 0];
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* What one run measured, derived from the peers' counters and /proc. */
typedef struct figures {
    unsigned k, carrying;
    double win_s, server_cpu_us, peer_cpu_s, us_per_pkt, loss, rss_per_call;
    double busy_pct[2], server_pct, peer_pct;
    uint64_t fwd, fwd_video, expected, lost;
    int64_t lat50, lat99_med, lat99_max, sa50, sa95, sc50, sc95, br50, br95;
} figures;

typedef struct samples {
    int64_t *p50, *p99, *setup_a, *setup_c, *bridged;
    size_t n_lat, n_sa, n_sc, n_br;
} samples;

static void take_peer(bench *b, slot *sl, bool agent, figures *f, samples *sm)
{
    tc_peer_media_stats e, *s0 = &sl->start;
    if (!tc_peer_media_now(sl->peer, &e))
        return;
    if (b->o.verbose)
        fprintf(stderr,
                "  %s: audio %" G_GUINT64_FORMAT " video %" G_GUINT64_FORMAT
                " lost %" G_GUINT64_FORMAT " p50 %" G_GINT64_FORMAT " p99 %" G_GINT64_FORMAT
                " dtls %d setup %" G_GINT64_FORMAT " ms\n",
                sl->name, e.audio_received - s0->audio_received,
                e.video_received - s0->video_received, e.video_lost - s0->video_lost,
                e.latency_p50_us, e.latency_p99_us, e.dtls_connected, e.offer_to_dtls_ms);
    uint64_t v = e.video_received - s0->video_received;
    f->fwd += (e.audio_received - s0->audio_received) + v + (e.rtx_received - s0->rtx_received);
    f->fwd_video += v;
    uint64_t dl = e.video_lost >= s0->video_lost ? e.video_lost - s0->video_lost : 0;
    f->lost += dl;
    f->expected += v + dl;
    if (e.latency_p50_us >= 0) {
        sm->p50[sm->n_lat] = e.latency_p50_us;
        sm->p99[sm->n_lat++] = e.latency_p99_us;
    }
    if (e.offer_to_dtls_ms >= 0) {
        if (agent)
            sm->setup_a[sm->n_sa++] = e.offer_to_dtls_ms;
        else
            sm->setup_c[sm->n_sc++] = e.offer_to_dtls_ms;
    }
    if (agent && e.answer_to_video_ms >= 0)
        sm->bridged[sm->n_br++] = e.answer_to_video_ms;
}

static void compute(bench *b, figures *f)
{
    unsigned k = b->o.calls;
    memset(f, 0, sizeof *f);
    f->k = k;
    const clocks *c0 = &b->at_open, *c1 = &b->at_close;
    f->win_s = (double)(c1->at_us - c0->at_us) / 1e6;
    samples sm = {.p50 = g_new(int64_t, 2 * k),
                  .p99 = g_new(int64_t, 2 * k),
                  .setup_a = g_new(int64_t, k),
                  .setup_c = g_new(int64_t, k),
                  .bridged = g_new(int64_t, k)};
    for (unsigned i = 0; i < k; i++) {
        take_peer(b, &b->agents[i], true, f, &sm);
        take_peer(b, &b->customers[i], false, f, &sm);
    }
    long hz = sysconf(_SC_CLK_TCK);
    f->server_cpu_us = (double)(c1->server_ticks - c0->server_ticks) * 1e6 / (double)hz;
    f->peer_cpu_s = tv_s(c1->peers.ru_utime) + tv_s(c1->peers.ru_stime) - tv_s(c0->peers.ru_utime) -
                    tv_s(c0->peers.ru_stime);
    f->us_per_pkt = f->fwd ? f->server_cpu_us / (double)f->fwd : -1;
    f->loss = f->expected ? (double)f->lost / (double)f->expected : 0;
    f->lat50 = pct(sm.p50, sm.n_lat, 0.5);
    f->lat99_med = pct(sm.p99, sm.n_lat, 0.5);
    f->lat99_max = sm.n_lat ? sm.p99[sm.n_lat - 1] : -1;
    f->rss_per_call = b->rss_kib > 0 && b->rss0_kib > 0 && k
                          ? (double)(b->rss_kib - b->rss0_kib) / (double)k
                          : -1;
    f->sa50 = pct(sm.setup_a, sm.n_sa, 0.5), f->sa95 = pct(sm.setup_a, sm.n_sa, 0.95);
    f->sc50 = pct(sm.setup_c, sm.n_sc, 0.5), f->sc95 = pct(sm.setup_c, sm.n_sc, 0.95);
    f->br50 = pct(sm.bridged, sm.n_br, 0.5), f->br95 = pct(sm.bridged, sm.n_br, 0.95);
    f->carrying = count_carrying(b);
    for (int c = 0; c < 2; c++) {
        uint64_t tot = c1->total[c] - c0->total[c];
        f->busy_pct[c] = tot ? 100.0 * (double)(c1->busy[c] - c0->busy[c]) / (double)tot : 0;
    }
    f->server_pct = f->server_cpu_us / 1e4 / f->win_s;
    f->peer_pct = f->peer_cpu_s * 100 / f->win_s;
    g_free(sm.p50);
    g_free(sm.p99);
    g_free(sm.setup_a);
    g_free(sm.setup_c);
    g_free(sm.bridged);
}

static void print_json(bench *b, const figures *f)
{
    printf("{\"calls\":%u,\"window_s\":%.2f,\"peers_carrying\":%u,\"finished_early\":%u,"
           "\"forwarded_packets\":%" G_GUINT64_FORMAT ",\"forwarded_pps\":%.0f,"
           "\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f,\"us_per_packet\":%.2f,"
           "\"video_loss\":%.6f,\"latency_p50_us\":%" G_GINT64_FORMAT
           ",\"latency_p99_us_median\":%" G_GINT64_FORMAT
           ",\"latency_p99_us_max\":%" G_GINT64_FORMAT
           ",\"rss0_kib\":%ld,\"rss_kib\":%ld,\"rss_per_call_kib\":%.1f,"
           "\"agent_offer_to_dtls_ms_p50\":%" G_GINT64_FORMAT
           ",\"agent_offer_to_dtls_ms_p95\":%" G_GINT64_FORMAT
           ",\"customer_offer_to_dtls_ms_p50\":%" G_GINT64_FORMAT
           ",\"customer_offer_to_dtls_ms_p95\":%" G_GINT64_FORMAT
           ",\"accept_to_bridged_ms_p50\":%" G_GINT64_FORMAT
           ",\"accept_to_bridged_ms_p95\":%" G_GINT64_FORMAT ",\"peer_cpu_pct\":%.1f,"
           "\"other_load_server_cpu_pct\":%.1f,\"other_load_peer_cpu_pct\":%.1f}\n",
           f->k, f->win_s, f->carrying, b->finished_early, f->fwd, (double)f->fwd / f->win_s,
           f->server_cpu_us / 1e6, f->server_pct, f->us_per_pkt, f->loss, f->lat50, f->lat99_med,
           f->lat99_max, b->rss0_kib, b->rss_kib, f->rss_per_call, f->sa50, f->sa95, f->sc50,
           f->sc95, f->br50, f->br95, f->peer_pct, f->busy_pct[0] - f->server_pct,
           f->busy_pct[1] - f->peer_pct);
}

static void print_text(bench *b, const figures *f)
{
    printf("calls                          %u (%u of %u peers carrying media at the end)\n", f->k,
           f->carrying, 2 * f->k);
    printf("window                         %.1f s\n", f->win_s);
    printf("forwarded RTP packets          %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
           " video), %.0f per second\n",
           f->fwd, f->fwd_video, (double)f->fwd / f->win_s);
    printf("server CPU                     %.2f s (%.1f %% of CPU %d)\n", f->server_cpu_us / 1e6,
           f->server_pct, b->o.server_cpu);
    printf("server CPU per forwarded pkt   %.2f us\n", f->us_per_pkt);
    printf("video loss (window)            %.4f %% (%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
           ")\n",
           f->loss * 100, f->lost, f->expected);
    printf("added latency                  p50 %" G_GINT64_FORMAT " us, p99 %" G_GINT64_FORMAT
           " us (median receiver), %" G_GINT64_FORMAT " us (worst receiver)\n",
           f->lat50, f->lat99_med, f->lat99_max);
    printf("server VmRSS                   %ld KiB idle, %ld KiB with the calls: %.0f KiB per "
           "call\n",
           b->rss0_kib, b->rss_kib, f->rss_per_call);
    printf("agent offer -> DTLS            p50 %" G_GINT64_FORMAT " ms, p95 %" G_GINT64_FORMAT
           " ms (offer sent on agent.accept.ok)\n",
           f->sa50, f->sa95);
    printf("accept -> bridged              p50 %" G_GINT64_FORMAT " ms, p95 %" G_GINT64_FORMAT
           " ms (agent.accept.ok to the customer's first video at the agent)\n",
           f->br50, f->br95);
    printf("customer offer -> DTLS         p50 %" G_GINT64_FORMAT " ms, p95 %" G_GINT64_FORMAT
           " ms (offer sent on customer.join.ok)\n",
           f->sc50, f->sc95);
    printf("peers' CPU (this process)      %.1f %% of CPU %d%s\n", f->peer_pct, b->o.peer_cpu,
           f->peer_cpu_s / f->win_s > 0.9 ? "  <- the peers are saturated: figures are a floor"
                                          : "");
    double other0 = f->busy_pct[0] - f->server_pct, other1 = f->busy_pct[1] - f->peer_pct;
    printf("other processes' load          %.1f %% of CPU %d, %.1f %% of CPU %d%s\n", other0,
           b->o.server_cpu, other1, b->o.peer_cpu,
           other0 > 5 || other1 > 5
               ? "  <- the machine was not quiet: loss and latency are not the relay's alone"
               : "");
    if (b->finished_early)
        printf("peers that ended early         %u (first: %s)\n", b->finished_early,
               b->first_error);
}

static void report(bench *b)
{
    figures f;
    compute(b, &f);
    if (b->o.json)
        print_json(b, &f);
    print_text(b, &f);
}

/* ---- main --------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: tc-bench_media [--calls K (20)] [--duration S (20)] [--warmup S (3)]\n"
               "         [--server-cpu N (0)] [--peer-cpu N (1)] [--bin DIR] [--web-root DIR]\n"
               "         [--keep] [--json]\n");
}

static int parse(int argc, char **argv, options *o)
{
    static const struct option opts[] = {
        {"calls", required_argument, NULL, 'k'},    {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},   {"server-cpu", required_argument, NULL, 's'},
        {"peer-cpu", required_argument, NULL, 'p'}, {"bin", required_argument, NULL, 'b'},
        {"web-root", required_argument, NULL, 'r'}, {"keep", no_argument, NULL, 'K'},
        {"json", no_argument, NULL, 'j'},           {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},        {NULL, 0, NULL, 0}};
    *o = (options){.calls = 20, .duration_s = 20, .warmup_s = 3, .server_cpu = 0, .peer_cpu = 1};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->calls = (unsigned)atoi(optarg);
            break;
        case 'd':
            o->duration_s = (unsigned)atoi(optarg);
            break;
        case 'w':
            o->warmup_s = (unsigned)atoi(optarg);
            break;
        case 's':
            o->server_cpu = atoi(optarg);
            break;
        case 'p':
            o->peer_cpu = atoi(optarg);
            break;
        case 'b':
            o->bin_dir = optarg;
            break;
        case 'r':
            o->web_root = optarg;
            break;
        case 'K':
            o->keep = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (o->calls < 1 || o->calls > 1000 || o->duration_s < 1 || o->duration_s > 3600)
        return -1;
    return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench b = {0};
    if (parse(argc, argv, &b.o) != 0) {
        usage(stderr);
        return 2;
    }
    tc_log_set_level(TC_LOG_WARN);
    gchar *exe = g_file_read_link("/proc/self/exe", NULL);
    gchar *self_dir = g_path_get_dirname(exe ? exe : argv[0]);
    g_free(exe);
    if (!b.o.bin_dir)
        b.o.bin_dir = self_dir;
    gchar *web = g_build_filename(b.o.bin_dir, "..", "web", NULL);
    if (!b.o.web_root)
        b.o.web_root = web;
    g_strlcpy(b.tmp, "/tmp/tc-bench-XXXXXX", sizeof b.tmp);
    if (!g_mkdtemp(b.tmp)) {
        perror("bench: mkdtemp");
        return 1;
    }
    int port = tc_host_free_port();
    snprintf(b.url, sizeof b.url, "wss://127.0.0.1:%d/ws", port);
    fprintf(stderr, "bench: %u calls, %u s window; server on CPU %d, peers on CPU %d; %s\n",
            b.o.calls, b.o.duration_s, b.o.server_cpu, b.o.peer_cpu, b.tmp);
    int rc = 1;
    if (write_config(&b, port) != 0 || make_cert(&b) != 0 || add_agents(&b) != 0 ||
        start_server(&b, port) != 0)
        goto out;
    tc_host_pin(0, b.o.peer_cpu);
    b.loop = g_main_loop_new(NULL, FALSE);
    b.env = tc_peer_env_create(b.loop);
    if (!b.env)
        goto out;
    b.agents = g_new0(slot, b.o.calls);
    b.customers = g_new0(slot, b.o.calls);
    enter(&b, PH_LOGINS);
    b.tick = g_timeout_source_new(50);
    g_source_set_callback(b.tick, on_tick, &b, NULL);
    g_source_attach(b.tick, NULL);
    /* bounded: logins, ramp (its own deadline), warm-up, window, and a margin */
    unsigned limit_s =
        b.o.calls * (LOGIN_STAGGER_MS + AGENT_STAGGER_MS + CUSTOMER_STAGGER_MS) / 1000 + 2 +
        (30 + b.o.calls / 2) + b.o.warmup_s + b.o.duration_s + 60 + b.o.calls;
    b.hard_stop = g_timeout_source_new_seconds(limit_s);
    g_source_set_callback(b.hard_stop, on_hard_stop, &b, NULL);
    g_source_attach(b.hard_stop, NULL);
    g_main_loop_run(b.loop);
    if (!b.aborted) {
        report(&b);
        rc = 0;
    }
    b.ph = PH_DONE;
    g_source_destroy(b.tick);
    g_source_unref(b.tick);
    g_source_destroy(b.hard_stop);
    g_source_unref(b.hard_stop);
    for (unsigned i = 0; i < b.o.calls; i++) {
        tc_peer_destroy(b.agents[i].peer);
        tc_peer_destroy(b.customers[i].peer);
    }
    tc_peer_env_destroy(b.env);
    g_main_loop_unref(b.loop);
out:
    stop_server(&b);
    if (rc != 0)
        fprintf(stderr, "bench: server log: %s/server.log\n", b.tmp);
    if (!b.o.keep && rc == 0) {
        gchar *cmd[] = {"rm", "-rf", b.tmp, NULL};
        run(cmd, NULL);
    }
    g_free(web);
    g_free(self_dir);
    return rc;
}
