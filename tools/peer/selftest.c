/*
 * selftest.c: two media sessions wired back to back in one process, with no
 * server: the offerer's offer goes to the answerer, whose answer (written by
 * the relay's own SDP writer) comes back; candidates are handed across
 * in-process. Both gather on 127.0.0.1 only. Proves ICE, DTLS, SRTP, the
 * tone, the video measurements and PLI handling between two peers.
 */
#include "media_session.h"
#include "peer.h"

#include "telecounter/log.h"
#include "telecounter/random.h"
#include "telecounter/srtp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SDP_CAP 16384
#define CONNECT_TIMEOUT_S 10

typedef struct selftest selftest;

typedef struct {
    selftest *t;
    tc_msession *ms;
    tc_msession **other;
    bool connected;
    char error[160];
} side;

struct selftest {
    GMainLoop *loop;
    side a, b;
    tc_dtls_ctx *ctx_a, *ctx_b;
    bool timed_out;
};

static void on_candidate(void *user, const char *c)
{
    side *sd = user;
    if (*sd->other)
        tc_msession_add_remote_candidate(*sd->other, c);
}

static void on_connected(void *user)
{
    side *sd = user;
    sd->connected = true;
}

static void on_failed(void *user, const char *why)
{
    side *sd = user;
    snprintf(sd->error, sizeof sd->error, "%s", why);
    g_main_loop_quit(sd->t->loop);
}

static gboolean on_connect_deadline(gpointer data)
{
    selftest *t = data;
    if (!t->a.connected || !t->b.connected) {
        t->timed_out = true;
        g_main_loop_quit(t->loop);
    }
    return G_SOURCE_REMOVE;
}

static gboolean on_end(gpointer data)
{
    g_main_loop_quit(((selftest *)data)->loop);
    return G_SOURCE_REMOVE;
}

static int negotiate(selftest *t)
{
    char *offer = g_malloc(SDP_CAP), *answer = g_malloc(SDP_CAP);
    int rc = tc_msession_create_offer(t->a.ms, offer, SDP_CAP);
    if (rc >= 0)
        rc = tc_msession_answer_offer(t->b.ms, offer, (size_t)rc, answer, SDP_CAP);
    if (rc >= 0)
        rc = tc_msession_set_answer(t->a.ms, answer, (size_t)rc);
    g_free(offer);
    g_free(answer);
    if (rc < 0)
        return rc;
    tc_msession_release_candidates(t->a.ms);
    tc_msession_release_candidates(t->b.ms);
    tc_msession_set_analyze(t->a.ms, true);
    tc_msession_set_analyze(t->b.ms, true);
    return 0;
}

static void fill(const side *sd, const char *role, bool timed_out, tc_peer_results *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->role, sizeof out->role, "%s", role);
    if (sd->ms)
        tc_msession_stats(sd->ms, &out->media);
    out->ok = sd->connected && !sd->error[0];
    snprintf(out->error, sizeof out->error, "%s",
             sd->error[0] ? sd->error
             : timed_out  ? "not connected in time"
                          : "");
}

static int make_sides(selftest *t, const tc_peer_selftest_config *cfg, GMainContext *ctx)
{
    tc_msession_events ev = {on_candidate, on_connected, on_failed};
    tc_msession_config ca = {.name = "offerer",
                             .tone_hz = 440,
                             .video_kbps = cfg->video_kbps,
                             .pli_interval_ms = cfg->pli_interval_ms};
    tc_msession_config cb = {.name = "answerer", .tone_hz = 660, .video_kbps = cfg->video_kbps};
    t->ctx_a = tc_dtls_ctx_create();
    t->ctx_b = tc_dtls_ctx_create();
    if (!t->ctx_a || !t->ctx_b)
        return -ENOMEM;
    t->a = (side){.t = t, .other = &t->b.ms};
    t->b = (side){.t = t, .other = &t->a.ms};
    t->a.ms = tc_msession_create(ctx, t->ctx_a, &ca, &ev, &t->a);
    t->b.ms = tc_msession_create(ctx, t->ctx_b, &cb, &ev, &t->b);
    return t->a.ms && t->b.ms ? 0 : -ENOMEM;
}

int tc_peer_selftest(GMainLoop *loop, const tc_peer_selftest_config *cfg, tc_peer_results out[2])
{
    selftest t = {.loop = loop};
    GMainContext *ctx = g_main_loop_get_context(loop);
    if (tc_random_init() != 0 || tc_srtp_init() != 0)
        return -EIO;
    int rc = make_sides(&t, cfg, ctx);
    if (rc == 0)
        rc = negotiate(&t);
    if (rc == 0) {
        GSource *deadline = g_timeout_source_new_seconds(CONNECT_TIMEOUT_S);
        g_source_set_callback(deadline, on_connect_deadline, &t, NULL);
        g_source_attach(deadline, ctx);
        GSource *end = g_timeout_source_new(cfg->duration_s * 1000);
        g_source_set_callback(end, on_end, &t, NULL);
        g_source_attach(end, ctx);
        g_main_loop_run(loop);
        g_source_destroy(deadline);
        g_source_unref(deadline);
        g_source_destroy(end);
        g_source_unref(end);
    }
    fill(&t.a, "offerer", t.timed_out, &out[0]);
    fill(&t.b, "answerer", t.timed_out, &out[1]);
    if (rc == 0 && (!out[0].ok || !out[1].ok))
        rc = -ETIMEDOUT;
    tc_msession_destroy(t.a.ms);
    tc_msession_destroy(t.b.ms);
    tc_dtls_ctx_destroy(t.ctx_a);
    tc_dtls_ctx_destroy(t.ctx_b);
    return rc;
}
