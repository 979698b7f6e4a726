/*
 * peer.c: the env (one lws client context and one DTLS certificate, shared)
 * and a peer's script. A customer joins a desk (or redeems a code), offers at
 * once and waits; an agent logs in, goes available and accepts the first
 * ring, then offers. The call lasts duration_s from the answer (customer) or
 * the accept (agent); whoever's timer fires first hangs up, and both finish on
 * session.ended. Teardown always happens from an idle callback, never inside
 * an lws or libnice callback.
 *
 * Reconnect scenarios (peer.h), timed from the call's start: a network cut
 * through the session's cutbox, an ICE restart offer, a vanish (signaling and
 * media closed, no hangup: a page reload), a mark of the received counters;
 * and a resume with a token instead of a join. Fault scenarios (faults.h):
 * with faults.linger_ms, a media failure is recorded instead of ending the
 * run, and after session.ended the peer keeps listening that long.
 */
#include "peer.h"

#include "faults.h"
#include "media_session.h"
#include "signal_client.h"

#include "telecounter/log.h"
#include "telecounter/random.h"
#include "telecounter/srtp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SDP_CAP 16384
#define PENDING 32
#define HANGUP_GRACE_S 5
#define DEFAULT_ANSWER_TIMEOUT_S 60

struct tc_peer_env {
    GMainLoop *loop;
    GMainContext *ctx;
    struct lws_context *lws;
    tc_dtls_ctx *dtls;
};

struct tc_peer {
    tc_peer_env *env;
    tc_peer_config cfg;
    tc_peer_done_fn done;
    void *user;
    char name[48];
    tc_sigclient *sig;
    tc_msession *ms;
    int64_t next_id;
    struct {
        int64_t id;
        char type[24];
    } pending[PENDING];
    bool in_call, finishing;
    bool logged_in, available_asked; /* agent */
    GSource *deadline, *call_timer, *grace, *finish_idle;
    tc_peer_results res;
    /* reconnect scenarios */
    int64_t call_start_us; /* monotonic; 0: the call has not started */
    GSource *cut_on, *cut_off, *restart, *vanish, *mark, *offer_due, *reoffer;
    bool offer_answered;             /* the first offer.ok came */
    uint64_t mark_audio, mark_video; /* received counters at the mark */
    /* fault scenarios: the linger after session.ended */
    GSource *linger;
    tc_peer_media_stats *at_end; /* the counters at session.ended */
    int64_t end_us;
};

static void schedule_scenarios(tc_peer *p);

/* ---- env ------------------------------------------------------------------ */

tc_peer_env *tc_peer_env_create(GMainLoop *loop)
{
    if (tc_random_init() != 0 || tc_srtp_init() != 0)
        return NULL;
    tc_peer_env *env = g_new0(tc_peer_env, 1);
    env->loop = loop;
    env->ctx = g_main_loop_get_context(loop);
    env->dtls = tc_dtls_ctx_create();
    /* TC_PEER_SRTP_PROFILES (e.g. SRTP_AES128_CM_SHA1_80): what the peers offer
     * instead of GCM first, to measure the relay with another profile. */
    const char *profiles = g_getenv("TC_PEER_SRTP_PROFILES");
    if (env->dtls && profiles && *profiles &&
        tc_dtls_ctx_set_srtp_profiles(env->dtls, profiles) != 0) {
        tc_error("peer: TC_PEER_SRTP_PROFILES=%s is not a list of SRTP profiles", profiles);
        tc_dtls_ctx_destroy(env->dtls);
        env->dtls = NULL;
    }
    void *foreign_loops[1] = {loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = tc_sigclient_protocols();
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_GLIB;
    info.foreign_loops = foreign_loops;
    lws_set_log_level(LLL_ERR, NULL);
    env->lws = env->dtls ? lws_create_context(&info) : NULL;
    if (!env->lws) {
        tc_error("peer: no lws client context (is libwebsockets-evlib-glib installed?)");
        tc_peer_env_destroy(env);
        return NULL;
    }
    return env;
}

void tc_peer_env_destroy(tc_peer_env *env)
{
    if (!env)
        return;
    if (env->lws)
        lws_context_destroy(env->lws);
    tc_dtls_ctx_destroy(env->dtls);
    g_free(env);
}

/* ---- small helpers -------------------------------------------------------- */

static void drop_source(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static GSource *add_timer(tc_peer *p, unsigned ms, GSourceFunc fn)
{
    GSource *src = ms ? g_timeout_source_new(ms) : g_idle_source_new();
    g_source_set_callback(src, fn, p, NULL);
    g_source_attach(src, p->env->ctx);
    return src;
}

static void request(tc_peer *p, const char *type, json_t *fields)
{
    int64_t id = ++p->next_id;
    json_t *msg = fields ? fields : json_object();
    json_object_set_new(msg, "type", json_string(type));
    json_object_set_new(msg, "id", json_integer(id));
    p->pending[id % PENDING].id = id;
    snprintf(p->pending[id % PENDING].type, sizeof p->pending[0].type, "%s", type);
    if (p->sig)
        tc_sigclient_send(p->sig, msg);
    else
        json_decref(msg);
}

static const char *request_type(const tc_peer *p, json_t *msg)
{
    json_int_t id = json_integer_value(json_object_get(msg, "id"));
    return p->pending[id % PENDING].id == id ? p->pending[id % PENDING].type : "";
}

/* The media session's counters, with the answer-to-video time filled in. */
static void media_stats(const tc_peer *p, tc_peer_media_stats *out)
{
    tc_msession_stats(p->ms, out);
    int64_t first = out->first_video_us;
    out->answer_to_video_ms = first && p->call_start_us && first >= p->call_start_us
                                  ? (first - p->call_start_us) / 1000
                                  : -1;
}

/* ---- finishing ------------------------------------------------------------ */

/* Every timer of the call and its scenarios (not the deadline, the linger or
 * the finish). */
static void drop_scenario_sources(tc_peer *p)
{
    drop_source(&p->call_timer);
    drop_source(&p->grace);
    drop_source(&p->cut_on);
    drop_source(&p->cut_off);
    drop_source(&p->restart);
    drop_source(&p->reoffer);
    drop_source(&p->vanish);
    drop_source(&p->mark);
    drop_source(&p->offer_due);
}

static gboolean on_finish_idle(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->finish_idle);
    p->finish_idle = NULL;
    drop_source(&p->deadline);
    drop_scenario_sources(p);
    drop_source(&p->linger);
    if (p->ms)
        media_stats(p, &p->res.media);
    if (p->res.mark.set) {
        p->res.mark.audio_received = p->res.media.audio_received - p->mark_audio;
        p->res.mark.video_received = p->res.media.video_received - p->mark_video;
    }
    tc_msession_destroy(p->ms);
    p->ms = NULL;
    tc_sigclient_destroy(p->sig);
    p->sig = NULL;
    tc_info("peer %s: finished%s%s", p->name, p->res.ok ? "" : ": ", p->res.error);
    if (p->done)
        p->done(p, &p->res, p->user);
    return G_SOURCE_REMOVE;
}

/* error NULL: a clean end. Only the first call counts. */
static void finish(tc_peer *p, const char *error)
{
    if (p->finishing)
        return;
    p->finishing = true;
    p->res.ok = error == NULL;
    snprintf(p->res.error, sizeof p->res.error, "%s", error ? error : "");
    p->finish_idle = add_timer(p, 0, on_finish_idle);
}

static gboolean on_deadline(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->deadline);
    p->deadline = NULL;
    finish(p, p->in_call ? "timeout: the call did not end" : "timeout: no call");
    return G_SOURCE_REMOVE;
}

static gboolean on_grace(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->grace);
    p->grace = NULL;
    finish(p, NULL); /* hung up; session.ended never came, but nothing failed */
    return G_SOURCE_REMOVE;
}

static gboolean on_call_timer(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->call_timer);
    p->call_timer = NULL;
    if (p->cfg.role == TC_PEER_CUSTOMER && !p->res.answered) {
        request(p, "customer.leave", NULL); /* queue_only: the queue was the test */
    } else {
        request(p, "hangup", NULL);
    }
    p->grace = add_timer(p, HANGUP_GRACE_S * 1000, on_grace);
    return G_SOURCE_REMOVE;
}

/* Also starts the call's clock (and its scenarios) the first time the call
 * has started: answered for a customer, accepted for an agent. */
static void start_call_timer(tc_peer *p)
{
    drop_source(&p->call_timer);
    p->call_timer = add_timer(p, p->cfg.duration_s * 1000, on_call_timer);
    if (!p->call_start_us && (p->res.answered || p->cfg.role == TC_PEER_AGENT)) {
        p->call_start_us = g_get_monotonic_time();
        schedule_scenarios(p);
    }
}

/* ---- media ---------------------------------------------------------------- */

static void on_local_candidate(void *user, const char *candidate)
{
    tc_peer *p = user;
    request(
        p, "candidate",
        json_pack("{s:s, s:s, s:i}", "candidate", candidate, "sdpMid", "0", "sdpMLineIndex", 0));
}

static void on_media_connected(void *user)
{
    (void)user;
}

static void on_media_failed(void *user, const char *why)
{
    tc_peer *p = user;
    if (p->cfg.faults.linger_ms) { /* a fault scenario: recorded, the run goes on */
        p->res.fault.media_failed = true;
        snprintf(p->res.fault.media_error, sizeof p->res.fault.media_error, "%s", why);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "media: %s", why);
    finish(p, msg);
}

/* Makes the media session and sends its offer (at once: trickle ICE). */
static void start_media(tc_peer *p)
{
    if (p->ms)
        return;
    p->res.offered_after_answer = p->cfg.role == TC_PEER_CUSTOMER && p->res.answered;
    tc_msession_config mc = {.name = p->name,
                             .tone_hz = p->cfg.tone_hz,
                             .video_kbps = p->cfg.video_kbps,
                             .pli_interval_ms = p->cfg.pli_interval_ms,
                             .local_address = p->cfg.local_address,
                             .cuttable = p->cfg.cut_ms != 0,
                             .faults = p->cfg.faults,
                             .video_codec = p->cfg.video_codec};
    tc_msession_events ev = {on_local_candidate, on_media_connected, on_media_failed};
    p->ms = tc_msession_create(p->env->ctx, p->env->dtls, &mc, &ev, p);
    char *sdp = g_malloc(SDP_CAP);
    int n = p->ms ? tc_msession_create_offer(p->ms, sdp, SDP_CAP) : -ENOMEM;
    if (n < 0)
        finish(p, "cannot make an offer");
    else
        request(p, "offer", json_pack("{s:s}", "sdp", sdp));
    if ((p->cfg.role == TC_PEER_AGENT || p->res.answered) && p->ms)
        tc_msession_set_analyze(p->ms, true); /* the call's audio, not hold audio */
    g_free(sdp);
}

static void on_answer(tc_peer *p, json_t *msg)
{
    const char *sdp = json_string_value(json_object_get(msg, "sdp"));
    if (!sdp || !p->ms) {
        finish(p, "offer.ok carried no sdp (the server does not answer media yet)");
        return;
    }
    if (tc_msession_set_answer(p->ms, sdp, strlen(sdp)) != 0) {
        finish(p, "the server's answer is unusable");
        return;
    }
    tc_msession_release_candidates(p->ms);
}

/* ---- reconnect scenarios ---------------------------------------------------- */

/* ms from the call's start; -1 before it. */
static int64_t call_ms(const tc_peer *p)
{
    return p->call_start_us ? (g_get_monotonic_time() - p->call_start_us) / 1000 : -1;
}

/* From now on results.mark counts what is received (the last mark wins). */
static void take_mark(tc_peer *p)
{
    if (!p->ms)
        return;
    tc_peer_media_stats m;
    tc_msession_stats(p->ms, &m);
    p->mark_audio = m.audio_received;
    p->mark_video = m.video_received;
    p->res.mark.set = true;
    p->res.mark.at_ms = call_ms(p);
}

static gboolean on_cut_on(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->cut_on);
    p->cut_on = NULL;
    if (p->ms)
        tc_msession_set_cut(p->ms, true);
    return G_SOURCE_REMOVE;
}

static gboolean on_cut_off(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->cut_off);
    p->cut_off = NULL;
    if (p->ms)
        tc_msession_set_cut(p->ms, false);
    take_mark(p);
    return G_SOURCE_REMOVE;
}

/* A re-offer on the same session with new ICE credentials; the answer comes
 * as offer.ok (on_restart_answer). */
static gboolean on_restart(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->restart);
    p->restart = NULL;
    char *sdp = g_malloc(SDP_CAP);
    int n = p->ms ? tc_msession_restart_offer(p->ms, sdp, SDP_CAP) : -EALREADY;
    if (n < 0)
        finish(p, "cannot make an ICE restart offer");
    else
        request(p, "offer", json_pack("{s:s}", "sdp", sdp));
    g_free(sdp);
    return G_SOURCE_REMOVE;
}

/* A renegotiation: a new offer with the same ICE credentials; the answer comes
 * as offer.ok (on_reoffer_answer). */
static gboolean on_reoffer(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->reoffer);
    p->reoffer = NULL;
    char *sdp = g_malloc(SDP_CAP);
    int n = p->ms ? tc_msession_reoffer(p->ms, sdp, SDP_CAP) : -EALREADY;
    if (n < 0)
        finish(p, "cannot make a re-offer");
    else
        request(p, "offer", json_pack("{s:s}", "sdp", sdp));
    g_free(sdp);
    return G_SOURCE_REMOVE;
}

/* A page reload: signaling and media close (on_finish_idle), no hangup. */
static gboolean on_vanish(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->vanish);
    p->vanish = NULL;
    tc_info("peer %s: vanishing at %lld ms (no hangup)", p->name, (long long)call_ms(p));
    finish(p, NULL);
    return G_SOURCE_REMOVE;
}

static gboolean on_mark(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->mark);
    p->mark = NULL;
    take_mark(p);
    return G_SOURCE_REMOVE;
}

/* At the call's start: the configured scenarios' timers. */
static void schedule_scenarios(tc_peer *p)
{
    const tc_peer_config *c = &p->cfg;
    if (c->cut_ms) {
        p->cut_on = add_timer(p, MAX(c->cut_at_ms, 1), on_cut_on);
        p->cut_off = add_timer(p, c->cut_at_ms + c->cut_ms, on_cut_off);
    }
    if (c->ice_restart_at_ms)
        p->restart = add_timer(p, c->ice_restart_at_ms, on_restart);
    if (c->vanish_at_ms)
        p->vanish = add_timer(p, c->vanish_at_ms, on_vanish);
    if (c->mark_at_ms)
        p->mark = add_timer(p, c->mark_at_ms, on_mark);
    if (c->reoffer_at_ms)
        p->reoffer = add_timer(p, c->reoffer_at_ms, on_reoffer);
}

/* offer.ok to an ICE restart offer: DTLS and SRTP stay; candidates again. */
static void on_restart_answer(tc_peer *p, json_t *msg)
{
    const char *sdp = json_string_value(json_object_get(msg, "sdp"));
    if (!sdp || tc_msession_set_answer(p->ms, sdp, strlen(sdp)) != 0) {
        finish(p, "the server's answer to the ICE restart is unusable");
        return;
    }
    tc_msession_resend_candidates(p->ms);
    take_mark(p);
}

/* offer.ok to a re-offer: media goes on; what comes from now on is counted. */
static void on_reoffer_answer(tc_peer *p, json_t *msg)
{
    const char *sdp = json_string_value(json_object_get(msg, "sdp"));
    if (!sdp || tc_msession_set_answer(p->ms, sdp, strlen(sdp)) != 0) {
        finish(p, "the server's answer to the re-offer is unusable");
        return;
    }
    p->res.reoffer_answered = true;
    p->res.reoffer_same_ice = tc_msession_reoffer_same_ice(p->ms) == 1;
    take_mark(p);
}

/* customer.resume.ok: a fresh offer on the resumed session. */
static void on_resumed(tc_peer *p, json_t *msg)
{
    p->res.session_id = json_integer_value(json_object_get(msg, "session_id"));
    const char *state = json_string_value(json_object_get(msg, "state"));
    start_media(p);
    if (!state || strcmp(state, "answered") != 0)
        return; /* still queued: session.answered starts the call */
    p->res.answered = true;
    p->in_call = true;
    if (p->ms)
        tc_msession_set_analyze(p->ms, true);
    start_call_timer(p);
}

/* ---- linger (fault scenarios) ------------------------------------------------- */

static gboolean on_linger_over(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->linger);
    p->linger = NULL;
    tc_peer_media_stats *now = g_malloc(sizeof *now);
    tc_msession_stats(p->ms, now);
    const tc_peer_media_stats *end = p->at_end;
    tc_peer_fault_result *f = &p->res.fault;
    f->lingered = true;
    f->audio_after_end = now->audio_received - end->audio_received;
    f->video_after_end = now->video_received - end->video_received;
    f->rtcp_after_end = now->rtcp_received - end->rtcp_received;
    f->datagrams_after_end = now->faults.media_datagrams - end->faults.media_datagrams;
    if (f->datagrams_after_end)
        f->last_datagram_after_end_ms = (now->faults.last_media_us - p->end_us) / 1000;
    g_free(now);
    finish(p, NULL);
    return G_SOURCE_REMOVE;
}

/* After session.ended, with faults.linger_ms: keep the media session and
 * count what still arrives. False when there is nothing to linger for. */
static bool start_linger(tc_peer *p)
{
    if (p->linger)
        return true;
    if (!p->cfg.faults.linger_ms || !p->ms)
        return false;
    drop_scenario_sources(p);
    p->end_us = g_get_monotonic_time();
    p->at_end = g_malloc(sizeof *p->at_end);
    tc_msession_stats(p->ms, p->at_end);
    p->linger = add_timer(p, p->cfg.faults.linger_ms, on_linger_over);
    return true;
}

static gboolean on_offer_due(gpointer data)
{
    tc_peer *p = data;
    g_source_unref(p->offer_due);
    p->offer_due = NULL;
    start_media(p);
    return G_SOURCE_REMOVE;
}

/* ---- messages ------------------------------------------------------------- */

static void on_reply(tc_peer *p, const char *type, json_t *msg)
{
    json_t *sid = json_object_get(msg, "session_id");
    if (strcmp(type, "customer.join") == 0 || strcmp(type, "customer.redeem") == 0) {
        const char *token = json_string_value(json_object_get(msg, "token"));
        snprintf(p->res.token, sizeof p->res.token, "%s", token ? token : "");
        p->res.session_id = json_integer_value(sid);
        if (p->cfg.offer_delay_ms)
            p->offer_due = add_timer(p, p->cfg.offer_delay_ms, on_offer_due);
        else
            start_media(p);
        if (p->cfg.queue_only)
            start_call_timer(p);
    } else if (strcmp(type, "login") == 0) {
        p->logged_in = true;
        if (!p->cfg.wait_available || p->available_asked)
            request(p, "agent.state", json_pack("{s:s}", "state", "available"));
    } else if (strcmp(type, "agent.accept") == 0) {
        p->res.session_id = json_integer_value(sid);
        p->res.answered = true;
        start_media(p);
        start_call_timer(p);
    } else if (strcmp(type, "customer.resume") == 0) {
        on_resumed(p, msg);
    } else if (strcmp(type, "offer") == 0) {
        if (!p->offer_answered)
            p->res.offer_video = json_is_true(json_object_get(msg, "video"));
        p->offer_answered = true;
        if (p->ms && tc_msession_restarting(p->ms))
            on_restart_answer(p, msg);
        else if (p->ms && tc_msession_reoffering(p->ms))
            on_reoffer_answer(p, msg);
        else
            on_answer(p, msg);
    } else if (strcmp(type, "customer.leave") == 0) {
        finish(p, NULL);
    }
}

static void on_error(tc_peer *p, json_t *msg)
{
    const char *type = request_type(p, msg);
    const char *code = json_string_value(json_object_get(msg, "code"));
    const char *text = json_string_value(json_object_get(msg, "message"));
    char why[160];
    snprintf(why, sizeof why, "%s: %s (%s)", type, code ? code : "?", text ? text : "");
    if (strcmp(type, "candidate") == 0 || strcmp(type, "hangup") == 0) {
        tc_warn("peer %s: %s", p->name, why);
        return;
    }
    finish(p, why);
}

static void on_ring(tc_peer *p, json_t *msg)
{
    if (p->in_call)
        return;
    p->in_call = true;
    request(p, "agent.accept",
            json_pack("{s:O}", "session_id", json_object_get(msg, "session_id")));
}

static void on_ended(tc_peer *p, json_t *msg)
{
    const char *reason = json_string_value(json_object_get(msg, "reason"));
    snprintf(p->res.end_reason, sizeof p->res.end_reason, "%s", reason ? reason : "?");
    p->res.ended_at_ms = call_ms(p);
    if (!start_linger(p))
        finish(p, NULL);
}

/* The last state, and every one as "state@ms" in order. */
static void on_media_state(tc_peer *p, json_t *msg)
{
    const char *st = json_string_value(json_object_get(msg, "state"));
    snprintf(p->res.media_state, sizeof p->res.media_state, "%s", st ? st : "");
    size_t n = strlen(p->res.media_states);
    if (n + 1 < sizeof p->res.media_states)
        snprintf(p->res.media_states + n, sizeof p->res.media_states - n, "%s%s@%lld", n ? "," : "",
                 st ? st : "?", (long long)call_ms(p));
}

static void on_event(tc_peer *p, const char *type, json_t *msg)
{
    if (strcmp(type, "candidate") == 0) {
        const char *c = json_string_value(json_object_get(msg, "candidate"));
        if (c && p->ms)
            tc_msession_add_remote_candidate(p->ms, c);
    } else if (strcmp(type, "ring") == 0) {
        on_ring(p, msg);
    } else if (strcmp(type, "session.answered") == 0) {
        p->res.answered = true;
        p->in_call = true;
        if (p->ms)
            tc_msession_set_analyze(p->ms, true);
        start_call_timer(p);
    } else if (strcmp(type, "session.ended") == 0) {
        on_ended(p, msg);
    } else if (strcmp(type, "media.state") == 0) {
        on_media_state(p, msg);
    } else if (strcmp(type, "call.media") == 0) {
        const char *why = json_string_value(json_object_get(msg, "reason"));
        size_t n = strlen(p->res.call_media);
        snprintf(p->res.call_media + n, sizeof p->res.call_media - n, "%svideo=%s:%s", n ? "," : "",
                 json_is_true(json_object_get(msg, "video")) ? "true" : "false", why ? why : "?");
    } else if (strcmp(type, "session.replaced") == 0) {
        finish(p, "session replaced by another connection");
    }
}

static void on_message(void *user, json_t *msg)
{
    tc_peer *p = user;
    if (p->finishing)
        return;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type)
        return;
    size_t n = strlen(type);
    if (n > 3 && strcmp(type + n - 3, ".ok") == 0) {
        char base[32];
        snprintf(base, sizeof base, "%.*s", (int)(n - 3), type);
        on_reply(p, base, msg);
    } else if (strcmp(type, "error") == 0) {
        on_error(p, msg);
    } else {
        on_event(p, type, msg);
    }
}

static void on_open(void *user)
{
    tc_peer *p = user;
    tc_info("peer %s: connected to %s", p->name, p->cfg.url);
    if (p->cfg.role == TC_PEER_AGENT)
        request(p, "login",
                json_pack("{s:s, s:s}", "username", p->cfg.username, "password", p->cfg.password));
    else if (p->cfg.resume_token)
        request(p, "customer.resume", json_pack("{s:s}", "token", p->cfg.resume_token));
    else if (p->cfg.invite_code)
        request(p, "customer.redeem", json_pack("{s:s}", "code", p->cfg.invite_code));
    else
        request(p, "customer.join", json_pack("{s:s}", "desk", p->cfg.desk));
}

static void on_closed(void *user, const char *why)
{
    tc_peer *p = user;
    char msg[160];
    snprintf(msg, sizeof msg, "signaling: %s", why);
    finish(p, msg);
}

/* ---- create / start / destroy --------------------------------------------- */

static bool config_ok(const tc_peer_config *c)
{
    if (!c->url)
        return false;
    if (c->role == TC_PEER_AGENT)
        return c->username && c->password;
    return c->desk || c->invite_code || c->resume_token;
}

/* A TC_PEER_* variable's value when the field was left 0. */
static unsigned env_ms(const char *name, unsigned v)
{
    const char *s = g_getenv(name);
    if (!v && s && *s)
        v = (unsigned)g_ascii_strtoull(s, NULL, 10);
    return v;
}

/* The reconnect scenarios' fields left 0/NULL, from the environment. */
static void apply_env(tc_peer_config *c)
{
    const char *token = g_getenv("TC_PEER_RESUME_TOKEN");
    if (!c->resume_token && token && *token && c->role == TC_PEER_CUSTOMER)
        c->resume_token = token;
    c->cut_at_ms = env_ms("TC_PEER_CUT_AT_MS", c->cut_at_ms);
    c->cut_ms = env_ms("TC_PEER_CUT_MS", c->cut_ms);
    c->ice_restart_at_ms = env_ms("TC_PEER_ICE_RESTART_AT_MS", c->ice_restart_at_ms);
    c->vanish_at_ms = env_ms("TC_PEER_VANISH_AT_MS", c->vanish_at_ms);
    c->mark_at_ms = env_ms("TC_PEER_MARK_AT_MS", c->mark_at_ms);
    c->reoffer_at_ms = env_ms("TC_PEER_REOFFER_AT_MS", c->reoffer_at_ms);
    const char *codec = g_getenv("TC_PEER_VIDEO_CODEC");
    if (!c->video_codec && codec && *codec)
        c->video_codec = codec;
    if (c->role == TC_PEER_CUSTOMER)
        c->offer_delay_ms = env_ms("TC_PEER_OFFER_DELAY_MS", c->offer_delay_ms);
}

tc_peer *tc_peer_create(tc_peer_env *env, const tc_peer_config *cfg, tc_peer_done_fn done,
                        void *user)
{
    if (!config_ok(cfg)) {
        tc_error("peer: incomplete configuration (url, desk or code, or user and password)");
        return NULL;
    }
    tc_peer *p = g_new0(tc_peer, 1);
    p->env = env;
    p->cfg = *cfg;
    apply_env(&p->cfg);
    p->done = done;
    p->user = user;
    bool agent = cfg->role == TC_PEER_AGENT;
    if (!p->cfg.tone_hz)
        p->cfg.tone_hz = agent ? 660 : 440;
    if (!p->cfg.video_kbps)
        p->cfg.video_kbps = 1500;
    if (!p->cfg.answer_timeout_s)
        p->cfg.answer_timeout_s = DEFAULT_ANSWER_TIMEOUT_S;
    snprintf(p->name, sizeof p->name, "%s", cfg->name ? cfg->name : agent ? "agent" : "customer");
    snprintf(p->res.role, sizeof p->res.role, "%s", agent ? "agent" : "customer");
    p->res.media.offer_to_dtls_ms = p->res.media.answer_to_video_ms = -1;
    p->res.media.latency_p50_us = p->res.media.latency_p99_us = -1;
    p->res.media.latency_max_us = -1;
    p->res.ended_at_ms = -1;
    p->res.fault.enabled = tc_faults_wanted(&p->cfg.faults);
    p->res.fault.last_datagram_after_end_ms = -1;
    return p;
}

int tc_peer_start(tc_peer *p)
{
    tc_sigclient_events ev = {on_open, on_message, on_closed};
    p->sig = tc_sigclient_create(p->env->lws, p->cfg.url, &ev, p);
    if (!p->sig) {
        /* lws may have reported the failure already: done must not follow */
        drop_source(&p->finish_idle);
        p->finishing = false;
        return -ECONNREFUSED;
    }
    unsigned total_s = p->cfg.answer_timeout_s + p->cfg.duration_s + 2 * HANGUP_GRACE_S;
    p->deadline = add_timer(p, total_s * 1000, on_deadline);
    return 0;
}

void tc_peer_destroy(tc_peer *p)
{
    if (!p)
        return;
    drop_source(&p->deadline);
    drop_source(&p->finish_idle);
    drop_scenario_sources(p);
    drop_source(&p->linger);
    g_free(p->at_end);
    tc_msession_destroy(p->ms);
    tc_sigclient_destroy(p->sig);
    g_free(p);
}

void tc_peer_go_available(tc_peer *p)
{
    if (p->available_asked)
        return;
    p->available_asked = true;
    if (p->logged_in && p->cfg.wait_available)
        request(p, "agent.state", json_pack("{s:s}", "state", "available"));
}

bool tc_peer_logged_in(const tc_peer *p)
{
    return p->logged_in;
}

bool tc_peer_media_now(const tc_peer *p, tc_peer_media_stats *out)
{
    memset(out, 0, sizeof *out);
    out->offer_to_dtls_ms = out->answer_to_video_ms = -1;
    if (!p->ms)
        return false;
    media_stats(p, out);
    return true;
}

void tc_peer_reset_latency(tc_peer *p)
{
    if (p->ms)
        tc_msession_reset_latency(p->ms);
}
