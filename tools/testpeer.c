/*
 * tc-testpeer: one native WebRTC test peer against a telecounter server, or
 * two peers back to back with --selftest. Prints one JSON result line per
 * peer on stdout; exits 0 only when the expectations hold.
 *
 *   tc-testpeer --url wss://127.0.0.1:PORT/ws --role customer --desk broadband
 *               [--duration 10] [--video-kbps 1500] [--expect-tone 660]
 *               [--max-loss 0.01] [--hold-audio-check] [--queue-only]
 *   tc-testpeer --url ... --role agent --user NAME --password-stdin [--expect-tone 440]
 *   tc-testpeer --selftest [--duration 5]
 *
 * Fault scenarios (tools/peer/faults.h), for tests of what the relay drops:
 *   [--bad-fingerprint] [--plain-rtp-before-dtls N] [--bad-rtcp N]
 *   [--bad-rtcp-at-ms MS] [--bad-rtcp-gap-ms MS] [--tone-timeline] [--linger-ms MS]
 *   [--fault-watch] [--video-loss-every N]
 */
#include "peer/peer.h"

#include "telecounter/log.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tc_peer_config peer;
    bool selftest, hold_audio_check, quiet, verbose, pair;
    unsigned agent_delay_ms;
    double expect_tone_hz; /* 0: no check */
    double max_loss;       /* < 0: no check */
    char password[256];
} options;

typedef struct run_state run_state;

typedef struct {
    run_state *st;
    tc_peer_config cfg;
    tc_peer *peer;
    tc_peer_results res;
    bool done;
} run_slot;

/* --pair runs a customer and an agent in this one process, on one loop and
 * one env, as the load generator does with many. */
struct run_state {
    GMainLoop *loop;
    tc_peer_env *env;
    run_slot slots[2];
    int n, running;
    GSource *second;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tc-testpeer --url wss://127.0.0.1:PORT/ws --role customer|agent\n"
               "         [--desk DESK | --code INVITE] [--user NAME --password-stdin]\n"
               "         [--duration S] [--video-kbps N] [--tone-hz HZ] [--pli-interval-ms MS]\n"
               "         [--answer-timeout S] [--queue-only] [--name NAME] [--quiet|--verbose]\n"
               "         [--expect-tone HZ] [--max-loss FRACTION] [--hold-audio-check]\n"
               "       tc-testpeer --url ... --pair --desk DESK --user NAME --password-stdin\n"
               "         [--agent-delay-ms MS]   (a customer and an agent in one process)\n"
               "       tc-testpeer --selftest [--duration S] [--video-kbps N]\n"
               "       faults: [--bad-fingerprint] [--plain-rtp-before-dtls N] [--bad-rtcp N]\n"
               "         [--bad-rtcp-at-ms MS] [--bad-rtcp-gap-ms MS] [--tone-timeline]\n"
               "         [--linger-ms MS] [--fault-watch] [--video-loss-every N]\n");
}

static int read_password(options *o)
{
    if (!fgets(o->password, sizeof o->password, stdin))
        return -1;
    o->password[strcspn(o->password, "\r\n")] = '\0';
    o->peer.password = o->password;
    return 0;
}

static int parse_role(options *o, const char *v)
{
    if (strcmp(v, "customer") == 0)
        o->peer.role = TC_PEER_CUSTOMER;
    else if (strcmp(v, "agent") == 0)
        o->peer.role = TC_PEER_AGENT;
    else
        return -1;
    return 0;
}

#define FAULT_OPT 1000 /* getopt values of the fault options: FAULT_OPT + n */

static const struct option long_opts[] = {
    {"url", required_argument, NULL, 'u'},
    {"role", required_argument, NULL, 'r'},
    {"desk", required_argument, NULL, 'd'},
    {"code", required_argument, NULL, 'c'},
    {"user", required_argument, NULL, 'U'},
    {"password-stdin", no_argument, NULL, 'P'},
    {"duration", required_argument, NULL, 'D'},
    {"video-kbps", required_argument, NULL, 'v'},
    {"tone-hz", required_argument, NULL, 't'},
    {"pli-interval-ms", required_argument, NULL, 'p'},
    {"answer-timeout", required_argument, NULL, 'a'},
    {"queue-only", no_argument, NULL, 'Q'},
    {"name", required_argument, NULL, 'n'},
    {"expect-tone", required_argument, NULL, 'e'},
    {"max-loss", required_argument, NULL, 'm'},
    {"hold-audio-check", no_argument, NULL, 'H'},
    {"selftest", no_argument, NULL, 'S'},
    {"pair", no_argument, NULL, '2'},
    {"agent-delay-ms", required_argument, NULL, 'A'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    /* fault scenarios (tools/peer/faults.h) */
    {"bad-fingerprint", no_argument, NULL, FAULT_OPT + 0},
    {"plain-rtp-before-dtls", required_argument, NULL, FAULT_OPT + 1},
    {"bad-rtcp", required_argument, NULL, FAULT_OPT + 2},
    {"bad-rtcp-at-ms", required_argument, NULL, FAULT_OPT + 3},
    {"bad-rtcp-gap-ms", required_argument, NULL, FAULT_OPT + 4},
    {"tone-timeline", no_argument, NULL, FAULT_OPT + 5},
    {"linger-ms", required_argument, NULL, FAULT_OPT + 6},
    {"fault-watch", no_argument, NULL, FAULT_OPT + 7},
    {"video-loss-every", required_argument, NULL, FAULT_OPT + 8},
    {NULL, 0, NULL, 0},
};

/* The fault scenarios' options. */
static int apply_fault_opt(options *o, int c, const char *arg)
{
    tc_peer_faults *f = &o->peer.faults;
    unsigned v = arg ? (unsigned)atoi(arg) : 0;
    switch (c - FAULT_OPT) {
    case 0:
        f->bad_fingerprint = true;
        break;
    case 1:
        f->plain_rtp_before_dtls = v;
        break;
    case 2:
        f->bad_rtcp_count = v;
        break;
    case 3:
        f->bad_rtcp_at_ms = v;
        break;
    case 4:
        f->bad_rtcp_gap_ms = v;
        break;
    case 5:
        f->tone_timeline = true;
        break;
    case 6:
        f->linger_ms = v;
        break;
    case 7:
        f->watch = true;
        break;
    case 8:
        f->video_loss_every = v;
        break;
    default:
        return -1;
    }
    return 0;
}

/* The options without an argument. */
static int apply_flag(options *o, int c)
{
    bool *flag = c == 'Q'   ? &o->peer.queue_only
                 : c == 'H' ? &o->hold_audio_check
                 : c == 'S' ? &o->selftest
                 : c == '2' ? &o->pair
                 : c == 'q' ? &o->quiet
                 : c == 'V' ? &o->verbose
                            : NULL;
    if (!flag)
        return -1;
    *flag = true;
    return 0;
}

static int apply_opt(options *o, int c, const char *arg)
{
    if (c >= FAULT_OPT)
        return apply_fault_opt(o, c, arg);
    switch (c) {
    case 'u':
        o->peer.url = arg;
        break;
    case 'r':
        return parse_role(o, arg);
    case 'd':
        o->peer.desk = arg;
        break;
    case 'c':
        o->peer.invite_code = arg;
        break;
    case 'U':
        o->peer.username = arg;
        break;
    case 'P':
        return read_password(o);
    case 'D':
        o->peer.duration_s = (unsigned)atoi(arg);
        break;
    case 'v':
        o->peer.video_kbps = (unsigned)atoi(arg);
        break;
    case 't':
        o->peer.tone_hz = (unsigned)atoi(arg);
        break;
    case 'p':
        o->peer.pli_interval_ms = (unsigned)atoi(arg);
        break;
    case 'a':
        o->peer.answer_timeout_s = (unsigned)atoi(arg);
        break;
    case 'n':
        o->peer.name = arg;
        break;
    case 'e':
        o->expect_tone_hz = atof(arg);
        break;
    case 'm':
        o->max_loss = atof(arg);
        break;
    case 'A':
        o->agent_delay_ms = (unsigned)atoi(arg);
        break;
    default:
        return apply_flag(o, c);
    }
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->max_loss = -1;
    o->peer.duration_s = 10;
    o->agent_delay_ms = 1500;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        if (apply_opt(o, c, optarg) != 0)
            return -1;
    }
    return optind == argc ? 0 : -1;
}

/* Appends a failure to list; returns false. */
static bool expect(json_t *list, bool cond, const char *what)
{
    if (!cond)
        json_array_append_new(list, json_string(what));
    return cond;
}

typedef struct {
    double tone_hz; /* 0: no check */
    bool hold_audio;
    bool in_call;
} expectations;

static bool check(const options *o, const expectations *x, const tc_peer_results *r,
                  json_t *failures)
{
    const tc_peer_media_stats *m = &r->media;
    bool ok = expect(failures, r->ok, "run failed");
    ok &= expect(failures, m->dtls_connected, "DTLS never connected");
    ok &= expect(failures, m->audio_received > 0, "no audio received");
    if (x->in_call)
        ok &= expect(failures, m->video_received > 0, "no video received");
    if (x->tone_hz > 0)
        ok &= expect(failures, fabs(m->dominant_hz - x->tone_hz) <= 0.05 * x->tone_hz,
                     "dominant frequency off by more than 5%");
    if (o->max_loss >= 0)
        ok &= expect(failures, m->video_loss <= o->max_loss, "video loss above --max-loss");
    if (x->hold_audio)
        ok &= expect(failures, m->hold_audio_packets > 0 && m->hold_audio_voiced > 0,
                     "no audible hold audio while queued");
    return ok;
}

static bool report(const options *o, const expectations *x, const tc_peer_results *r)
{
    json_t *failures = json_array();
    bool ok = check(o, x, r, failures);
    json_t *line = tc_peer_results_json(r);
    json_object_set_new(line, "expectations_met", json_boolean(ok));
    json_object_set_new(line, "failures", failures);
    char *text = json_dumps(line, JSON_COMPACT);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(line);
    return ok;
}

static int run_selftest(options *o, GMainLoop *loop)
{
    tc_peer_selftest_config cfg = {.duration_s = o->peer.duration_s,
                                   .video_kbps = o->peer.video_kbps ? o->peer.video_kbps : 1500,
                                   .pli_interval_ms =
                                       o->peer.pli_interval_ms ? o->peer.pli_interval_ms : 1000};
    tc_peer_results r[2];
    int rc = tc_peer_selftest(loop, &cfg, r);
    if (o->max_loss < 0)
        o->max_loss = 0.01;
    expectations offerer = {.tone_hz = 660, .in_call = true}; /* it hears the answerer */
    expectations answerer = {.tone_hz = 440, .in_call = true};
    bool ok = report(o, &offerer, &r[0]);
    ok &= report(o, &answerer, &r[1]);
    ok &= r[1].media.plis_received > 0 && r[0].media.keyframes_received > 1;
    if (!(r[1].media.plis_received > 0 && r[0].media.keyframes_received > 1))
        fprintf(stderr, "selftest: PLIs were not answered with keyframes\n");
    return rc == 0 && ok ? 0 : 1;
}

static void on_done(tc_peer *peer, const tc_peer_results *r, void *user)
{
    (void)peer;
    run_slot *slot = user;
    slot->res = *r;
    slot->done = true;
    if (--slot->st->running == 0)
        g_main_loop_quit(slot->st->loop);
}

static bool start_slot(run_slot *slot)
{
    slot->peer = tc_peer_create(slot->st->env, &slot->cfg, on_done, slot);
    if (!slot->peer || tc_peer_start(slot->peer) != 0)
        return false;
    slot->st->running++;
    return true;
}

static gboolean on_start_second(gpointer data)
{
    run_state *st = data;
    g_source_unref(st->second);
    st->second = NULL;
    if (!start_slot(&st->slots[1]) && st->running == 0)
        g_main_loop_quit(st->loop);
    return G_SOURCE_REMOVE;
}

static void plan(run_state *st, const options *o)
{
    st->slots[0] = (run_slot){.st = st, .cfg = o->peer};
    st->n = 1;
    if (!o->pair)
        return;
    st->slots[0].cfg.role = TC_PEER_CUSTOMER;
    st->slots[1] = (run_slot){.st = st, .cfg = o->peer};
    st->slots[1].cfg.role = TC_PEER_AGENT;
    st->n = 2;
}

static bool report_slot(const options *o, const run_slot *slot)
{
    bool customer = slot->cfg.role == TC_PEER_CUSTOMER;
    expectations x = {.tone_hz = o->expect_tone_hz,
                      .hold_audio = o->hold_audio_check && customer,
                      .in_call = slot->res.answered && !slot->cfg.queue_only};
    if (o->pair)
        x.tone_hz = customer ? 660 : 440;
    return slot->done && report(o, &x, &slot->res);
}

static int run_peers(const options *o, GMainLoop *loop)
{
    run_state st = {.loop = loop};
    st.env = tc_peer_env_create(loop);
    if (!st.env)
        return 2;
    plan(&st, o);
    bool started = start_slot(&st.slots[0]);
    if (started && st.n == 2) {
        st.second = g_timeout_source_new(o->agent_delay_ms);
        g_source_set_callback(st.second, on_start_second, &st, NULL);
        g_source_attach(st.second, NULL);
    }
    if (started)
        g_main_loop_run(loop);
    if (st.second) {
        g_source_destroy(st.second);
        g_source_unref(st.second);
    }
    bool ok = started;
    for (int i = 0; i < st.n; i++) {
        ok &= report_slot(o, &st.slots[i]);
        tc_peer_destroy(st.slots[i].peer);
    }
    tc_peer_env_destroy(st.env);
    return ok ? 0 : started ? 1 : 2;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    tc_log_set_level(o.quiet ? TC_LOG_WARN : o.verbose ? TC_LOG_DEBUG : TC_LOG_INFO);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    int rc = o.selftest ? run_selftest(&o, loop) : run_peers(&o, loop);
    g_main_loop_unref(loop);
    return rc;
}
