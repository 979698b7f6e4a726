/*
 * media.c: the control thread's side of the relay. An offer is parsed,
 * checked and answered here, synchronously: the relay's ICE credentials,
 * SSRCs and certificate fingerprint are chosen here, so the answer needs
 * nothing from the worker. The worker then gets one message to build the leg.
 * Both legs of a session go to the worker of the first one.
 */
#include "media_internal.h"

#include "telecounter/log.h"
#include "telecounter/random.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct tc_media {
    const tc_config *cfg;
    tc_media_events ev;
    tc_media_shared shared;
    tc_worker **workers;
    int n_workers;
    int next_worker;
    GHashTable *sessions; /* int64 id -> tc_media_session* (owned) */
    uint8_t *hold_frames;
    uint32_t *hold_offsets;
    uint16_t *hold_lens;
};

typedef struct tc_media_session {
    int64_t id;
    int worker;
    bool has_leg[2];
    uint8_t fingerprint[2][32];
    uint32_t ssrc[2][TC_SDP_MAX_MEDIA], rtx_ssrc[2][TC_SDP_MAX_MEDIA];
    bool have_codecs;
    tc_sdp_codec_ref audio, video;
    bool bridged;
    /* per side: our ICE credentials and the peer's, as last answered; an offer
     * that keeps the peer's is a renegotiation, not an ICE restart */
    char ufrag[2][TC_ICE_UFRAG_LEN + 1], pwd[2][TC_ICE_PWD_LEN + 1];
    char remote_ufrag[2][TC_SDP_ICE_LEN + 1], remote_pwd[2][TC_SDP_ICE_LEN + 1];
    bool leg_video[2];                  /* the leg's answer accepted a video m-line */
    bool video_no_codec[2];             /* it rejected one for want of a common codec */
    bool told_audio_only;               /* both sides were sent call.media video false */
    uint64_t sdp_id[2], sdp_version[2]; /* our last answer's o= line, per side */
    int remote_candidates[2];           /* trickled since the side's last offer */
} tc_media_session;

/* Trickled candidates a side may add per offer: a browser sends a handful; each
 * one costs STUN checks, so a page may not make the relay probe without end. */
#define TC_REMOTE_CANDIDATES_MAX 32

typedef enum leg_msg_kind {
    MSG_CREATE,
    MSG_RESTART,
    MSG_RENEGOTIATE,
    MSG_CANDIDATE,
    MSG_CANDIDATES_DONE,
    MSG_BRIDGE,
    MSG_END
} leg_msg_kind;

typedef struct leg_msg {
    tc_worker *worker;
    leg_msg_kind kind;
    int64_t session_id;
    tc_media_side side;
    bool bridged;
    tc_leg_params params; /* CREATE, RESTART */
    char *candidate;      /* CANDIDATE */
} leg_msg;

const char *tc_media_state_name(tc_media_state s)
{
    static const char *const names[] = {"connecting", "connected", "reconnecting", "failed"};
    return (unsigned)s <= TC_MEDIA_FAILED ? names[s] : "failed";
}

/* ---- worker side of the messages ------------------------------------------ */

static void link_partners(tc_worker *w, int64_t session_id)
{
    tc_leg *c = tc_worker_leg(w, session_id, TC_SIDE_CUSTOMER);
    tc_leg *a = tc_worker_leg(w, session_id, TC_SIDE_AGENT);
    if (!c || !a)
        return;
    tc_leg_set_partner(c, a);
    tc_leg_set_partner(a, c);
    if (tc_leg_connected(c) && tc_leg_connected(a)) {
        tc_relay_request_keyframe(c);
        tc_relay_request_keyframe(a);
    }
}

static void create_leg(leg_msg *m)
{
    tc_leg *old = tc_worker_leg(m->worker, m->session_id, m->side);
    if (old)
        tc_worker_remove_leg(m->worker, old);
    tc_leg *leg = tc_leg_create(m->worker, &m->params);
    if (!leg) {
        tc_media_post_state(tc_worker_shared(m->worker), m->session_id, m->side, TC_MEDIA_FAILED);
        return;
    }
    tc_worker_add_leg(m->worker, leg);
    if (m->bridged)
        link_partners(m->worker, m->session_id);
}

static gboolean on_leg_msg(gpointer data)
{
    leg_msg *m = data;
    tc_leg *leg = tc_worker_leg(m->worker, m->session_id, m->side);
    switch (m->kind) {
    case MSG_CREATE:
        create_leg(m);
        break;
    case MSG_RESTART:
        if (leg)
            tc_leg_restart(leg, &m->params);
        else
            create_leg(m);
        break;
    case MSG_RENEGOTIATE:
        if (leg)
            tc_leg_renegotiate(leg, &m->params);
        else
            create_leg(m);
        break;
    case MSG_CANDIDATE:
        if (leg)
            tc_leg_add_candidate(leg, m->candidate);
        break;
    case MSG_CANDIDATES_DONE:
        if (leg)
            tc_leg_candidates_done(leg);
        break;
    case MSG_BRIDGE:
        link_partners(m->worker, m->session_id);
        break;
    case MSG_END:
        for (int side = 0; side < 2; side++) {
            tc_leg *l = tc_worker_leg(m->worker, m->session_id, (tc_media_side)side);
            if (l)
                tc_worker_remove_leg(m->worker, l);
        }
        break;
    }
    return G_SOURCE_REMOVE;
}

static void free_leg_msg(gpointer data)
{
    leg_msg *m = data;
    g_free(m->params.offer);
    g_free(m->candidate);
    g_free(m);
}

static void post(tc_media *m, tc_media_session *s, leg_msg *msg)
{
    msg->worker = m->workers[s->worker];
    msg->session_id = s->id;
    tc_worker_post(msg->worker, on_leg_msg, msg, free_leg_msg);
}

/* ---- news from the workers, delivered on the control thread ---------------- */

typedef struct news {
    tc_media *media;
    int64_t session_id;
    tc_media_side side;
    enum { NEWS_CANDIDATE, NEWS_STATE, NEWS_STATS, NEWS_CALL_MEDIA } kind;
    bool video;
    const char *reason; /* NEWS_CALL_MEDIA: a string literal */
    char candidate[512];
    char mid[32];
    int mline;
    tc_media_state state;
    tc_leg_stats stats;
} news;

static gboolean deliver_news(gpointer data)
{
    news *n = data;
    const tc_media_events *ev = &n->media->ev;
    if (n->kind == NEWS_CANDIDATE && ev->candidate)
        ev->candidate(ev->user, n->session_id, n->side, n->candidate, n->mid, n->mline);
    else if (n->kind == NEWS_STATE && ev->state)
        ev->state(ev->user, n->session_id, n->side, n->state);
    else if (n->kind == NEWS_STATS && ev->stats)
        ev->stats(ev->user, n->session_id, n->side, &n->stats);
    else if (n->kind == NEWS_CALL_MEDIA && ev->call_media)
        ev->call_media(ev->user, n->session_id, n->video, n->reason);
    return G_SOURCE_REMOVE;
}

static news *new_news(const tc_media_shared *sh, int64_t session_id, tc_media_side side)
{
    news *n = g_new0(news, 1);
    n->media = sh->media;
    n->session_id = session_id;
    n->side = side;
    return n;
}

static void send_news(news *n)
{
    g_main_context_invoke_full(NULL, G_PRIORITY_DEFAULT, deliver_news, n, g_free);
}

void tc_media_post_candidate(const tc_media_shared *sh, int64_t session_id, tc_media_side side,
                             const char *candidate, const char *mid, int mline)
{
    news *n = new_news(sh, session_id, side);
    n->kind = NEWS_CANDIDATE;
    snprintf(n->candidate, sizeof n->candidate, "%s", candidate);
    snprintf(n->mid, sizeof n->mid, "%s", mid);
    n->mline = mline;
    send_news(n);
}

void tc_media_post_state(const tc_media_shared *sh, int64_t session_id, tc_media_side side,
                         tc_media_state state)
{
    news *n = new_news(sh, session_id, side);
    n->kind = NEWS_STATE;
    n->state = state;
    send_news(n);
}

void tc_media_post_stats(const tc_media_shared *sh, int64_t session_id, tc_media_side side,
                         const tc_leg_stats *stats)
{
    news *n = new_news(sh, session_id, side);
    n->kind = NEWS_STATS;
    n->stats = *stats;
    send_news(n);
}

/* ---- life ------------------------------------------------------------------ */

tc_media *tc_media_create(const tc_config *cfg, const tc_media_events *events)
{
    tc_media *m = g_new0(tc_media, 1);
    m->cfg = cfg;
    m->ev = *events;
    m->sessions = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    m->shared.cfg = cfg;
    m->shared.media = m;
    m->shared.dtls = tc_srtp_init() == 0 ? tc_dtls_ctx_create() : NULL;
    int frames = tc_hold_audio_make(&m->hold_frames, &m->hold_offsets, &m->hold_lens);
    if (!m->shared.dtls || frames < 0) {
        tc_media_destroy(m);
        return NULL;
    }
    m->shared.hold_frames = m->hold_frames;
    m->shared.hold_frame_offset = m->hold_offsets;
    m->shared.hold_frame_len = m->hold_lens;
    m->shared.hold_frame_count = frames;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    m->n_workers = cfg->media_workers > 0 ? cfg->media_workers : (int)(cores > 0 ? cores : 1);
    m->workers = g_new0(tc_worker *, m->n_workers);
    for (int i = 0; i < m->n_workers; i++)
        m->workers[i] = tc_worker_start(i, &m->shared);
    tc_info("media: %d workers, DTLS certificate ready", m->n_workers);
    return m;
}

void tc_media_destroy(tc_media *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_workers; i++)
        tc_worker_stop(m->workers[i]);
    g_free(m->workers);
    g_hash_table_destroy(m->sessions);
    tc_dtls_ctx_destroy(m->shared.dtls);
    g_free(m->hold_frames);
    g_free(m->hold_offsets);
    g_free(m->hold_lens);
    g_free(m);
}

unsigned tc_media_session_count(const tc_media *m)
{
    return g_hash_table_size(m->sessions);
}

static tc_media_session *session_for(tc_media *m, int64_t id, bool create)
{
    tc_media_session *s = g_hash_table_lookup(m->sessions, &id);
    if (s || !create)
        return s;
    s = g_new0(tc_media_session, 1);
    s->id = id;
    s->worker = m->next_worker++ % m->n_workers;
    for (int side = 0; side < 2; side++) {
        for (int i = 0; i < TC_SDP_MAX_MEDIA; i++) {
            s->ssrc[side][i] = tc_random_below(UINT32_MAX - 1) + 1;
            s->rtx_ssrc[side][i] = tc_random_below(UINT32_MAX - 1) + 1;
        }
    }
    g_hash_table_insert(m->sessions, &s->id, s);
    return s;
}

/* ---- offers, candidates, calls ------------------------------------------------ */

static void random_ice_string(char *out, size_t n)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i++)
        out[i] = chars[tc_random_below(sizeof chars - 1)];
    out[n] = '\0';
}

/* Parses and checks the offer; on failure a reason in why. */
static int read_offer(const char *sdp, size_t len, tc_sdp *offer, char *why, size_t why_len)
{
    if (len > TC_SDP_MAX_LEN) {
        snprintf(why, why_len, "the offer is over %d bytes", TC_SDP_MAX_LEN);
        return -EINVAL;
    }
    int rc = tc_sdp_parse(sdp, len, offer);
    if (rc == -E2BIG) {
        snprintf(why, why_len, "the offer has too many m-lines, candidates or codecs");
        return -EINVAL;
    }
    if (rc) {
        snprintf(why, why_len, "the offer is not valid SDP");
        return -EINVAL;
    }
    return tc_sdp_check_webrtc(offer, why, why_len);
}

static void remember_codecs(tc_media_session *s, const tc_sdp *offer, const tc_sdp_choice *choices)
{
    memset(&s->audio, 0, sizeof s->audio);
    memset(&s->video, 0, sizeof s->video);
    for (int i = 0; i < offer->n_media; i++) {
        if (!choices[i].accepted || choices[i].codec < 0)
            continue;
        if (offer->media[i].kind == TC_SDP_AUDIO)
            s->audio = choices[i].ref;
        else if (offer->media[i].kind == TC_SDP_VIDEO)
            s->video = choices[i].ref;
    }
    s->have_codecs = true;
}

/* What an offer on a session that has a leg on this side means. */
static leg_msg_kind kind_of_offer(const tc_media_session *s, tc_media_side side,
                                  const tc_sdp *offer)
{
    const tc_sdp_media *t = &offer->media[tc_sdp_transport_media(offer)];
    if (!s->has_leg[side] || memcmp(s->fingerprint[side], t->fingerprint.hash, 32) != 0)
        return MSG_CREATE; /* a new peer connection (a reload, another tab) */
    /* RFC 8839 4.4.1.1: a restart is a change of the peer's ufrag or pwd */
    if (strcmp(s->remote_ufrag[side], t->ice_ufrag) == 0 &&
        strcmp(s->remote_pwd[side], t->ice_pwd) == 0)
        return MSG_RENEGOTIATE;
    return MSG_RESTART;
}

static int answer_offer(tc_media *m, tc_media_session *s, tc_media_side side, leg_msg *msg,
                        char *answer, size_t cap, char *why, size_t why_len)
{
    tc_leg_params *p = &msg->params;
    bool constrain = side == TC_SIDE_AGENT && s->have_codecs;
    tc_sdp_prefs prefs = {
        .audio = m->cfg->media_audio_codecs,
        .video = m->cfg->media_video_codecs,
        .audio_constraint = constrain && s->audio.clock_rate ? &s->audio : NULL,
        .video_constraint = constrain && s->video.clock_rate ? &s->video : NULL,
    };
    int rc = tc_sdp_select(p->offer, &prefs, p->choices, why, why_len);
    if (rc)
        return rc;
    if (msg->kind == MSG_RENEGOTIATE) {
        /* same ICE agent: the same credentials, or the peer would restart */
        memcpy(p->ufrag, s->ufrag[side], sizeof p->ufrag);
        memcpy(p->pwd, s->pwd[side], sizeof p->pwd);
    } else {
        random_ice_string(p->ufrag, TC_ICE_UFRAG_LEN);
        random_ice_string(p->pwd, TC_ICE_PWD_LEN);
    }
    tc_sdp_local local = {.ice_ufrag = p->ufrag,
                          .ice_pwd = p->pwd,
                          .cname = "telecounter",
                          .msid_stream = "telecounter"};
    memcpy(local.fingerprint_sha256, tc_dtls_ctx_fingerprint(m->shared.dtls), 32);
    if (msg->kind == MSG_CREATE || !s->sdp_id[side]) {
        tc_random_bytes(&local.session_id, sizeof local.session_id);
        local.session_id >>= 1; /* SDP wants it to fit a signed 64-bit number */
        local.session_id |= 1;  /* and 0 means "none yet" here */
        local.session_version = 2;
    } else {
        /* the same peer connection (JSEP 5.3.2): the same id, the next version */
        local.session_id = s->sdp_id[side];
        local.session_version = s->sdp_version[side] + 1;
    }
    for (int i = 0; i < TC_SDP_MAX_MEDIA; i++) {
        p->ssrc[i] = local.ssrc[i] = s->ssrc[side][i];
        p->rtx_ssrc[i] = local.rtx_ssrc[i] = p->choices[i].rtx >= 0 ? s->rtx_ssrc[side][i] : 0;
    }
    int n = tc_sdp_write_answer(p->offer, p->choices, &prefs, &local, answer, cap);
    if (n < 0) {
        snprintf(why, why_len, "the answer could not be written");
        return n;
    }
    s->sdp_id[side] = local.session_id;
    s->sdp_version[side] = local.session_version;
    return 0;
}

/* The leg's answer as to video: accepted, or rejected for want of a codec. */
static void note_video(tc_media_session *s, tc_media_side side, const tc_leg_params *p)
{
    s->leg_video[side] = false;
    s->video_no_codec[side] = false;
    for (int i = 0; i < p->offer->n_media; i++) {
        if (p->offer->media[i].kind != TC_SDP_VIDEO)
            continue;
        s->leg_video[side] = s->leg_video[side] || p->choices[i].accepted;
        s->video_no_codec[side] = s->video_no_codec[side] || p->choices[i].no_codec;
    }
}

/* Once both legs are answered: tell both sides when the call turns audio-only
 * (and when video comes back), after the offer's reply has gone. A new peer
 * connection (a reload, a second tab) in an audio-only call is told again: its
 * page has not heard it. */
static void check_call_video(tc_media *m, tc_media_session *s, leg_msg_kind kind)
{
    if (!s->has_leg[TC_SIDE_CUSTOMER] || !s->has_leg[TC_SIDE_AGENT])
        return;
    bool video = s->leg_video[TC_SIDE_CUSTOMER] && s->leg_video[TC_SIDE_AGENT];
    bool repeat = kind == MSG_CREATE && !video;
    if (!video == s->told_audio_only && !repeat)
        return; /* nothing new to tell */
    s->told_audio_only = !video;
    news *n = new_news(&m->shared, s->id, TC_SIDE_CUSTOMER);
    n->kind = NEWS_CALL_MEDIA;
    n->video = video;
    n->reason = video                                          ? "video_available"
                : s->video_no_codec[0] || s->video_no_codec[1] ? "no_common_video_codec"
                                                               : "no_video";
    tc_info("session %" G_GINT64_FORMAT ": the call is %s (%s)", s->id,
            video ? "audio and video" : "audio-only", n->reason);
    g_idle_add_full(G_PRIORITY_DEFAULT, deliver_news, n, g_free);
}

int tc_media_offer(tc_media *m, int64_t session_id, tc_media_side side, const char *sdp, size_t len,
                   char *answer, size_t cap, bool *video, char *why, size_t why_len)
{
    leg_msg *msg = g_new0(leg_msg, 1);
    msg->params.offer = g_malloc(sizeof(tc_sdp));
    msg->params.session_id = session_id;
    msg->params.side = side;
    int rc = read_offer(sdp, len, msg->params.offer, why, why_len);
    tc_media_session *s = rc ? NULL : session_for(m, session_id, true);
    if (s) {
        msg->kind = kind_of_offer(s, side, msg->params.offer);
        rc = answer_offer(m, s, side, msg, answer, cap, why, why_len);
    }
    if (rc) {
        if (s && !s->has_leg[0] && !s->has_leg[1])
            g_hash_table_remove(m->sessions, &session_id);
        free_leg_msg(msg);
        return -EINVAL;
    }
    const tc_sdp_media *t = &msg->params.offer->media[tc_sdp_transport_media(msg->params.offer)];
    msg->side = side;
    msg->bridged = s->bridged;
    memcpy(s->fingerprint[side], t->fingerprint.hash, 32);
    memcpy(s->remote_ufrag[side], t->ice_ufrag, sizeof s->remote_ufrag[side]);
    memcpy(s->remote_pwd[side], t->ice_pwd, sizeof s->remote_pwd[side]);
    memcpy(s->ufrag[side], msg->params.ufrag, sizeof s->ufrag[side]);
    memcpy(s->pwd[side], msg->params.pwd, sizeof s->pwd[side]);
    if (side == TC_SIDE_CUSTOMER)
        remember_codecs(s, msg->params.offer, msg->params.choices);
    note_video(s, side, &msg->params);
    if (video)
        *video = s->leg_video[side];
    s->has_leg[side] = true;
    s->remote_candidates[side] = 0;
    leg_msg_kind kind = msg->kind;
    post(m, s, msg); /* the worker owns msg from here */
    check_call_video(m, s, kind);
    return 0;
}

int tc_media_remote_candidate(tc_media *m, int64_t session_id, tc_media_side side,
                              const char *candidate, size_t len)
{
    tc_media_session *s = session_for(m, session_id, false);
    if (!s || !s->has_leg[side])
        return -ENOENT;
    leg_msg *msg = g_new0(leg_msg, 1);
    msg->side = side;
    if (len == 0) {
        msg->kind = MSG_CANDIDATES_DONE;
    } else {
        tc_sdp_candidate c;
        int rc = tc_sdp_parse_candidate(candidate, len, &c);
        /* mDNS names are reached as peer-reflexive instead; addresses the relay
         * must not probe, and candidates past the cap, are dropped (ok, unused) */
        if (rc || c.mdns || c.component != 1 ||
            !tc_sdp_candidate_reachable(&c, m->cfg->media_loopback) ||
            s->remote_candidates[side] >= TC_REMOTE_CANDIDATES_MAX) {
            g_free(msg);
            return rc == 0 ? 0 : -EINVAL;
        }
        s->remote_candidates[side]++;
        msg->kind = MSG_CANDIDATE;
        size_t skip = len >= 2 && candidate[0] == 'a' && candidate[1] == '=' ? 2 : 0;
        msg->candidate = g_strndup(candidate + skip, len - skip);
    }
    post(m, s, msg);
    return 0;
}

void tc_media_bridge(tc_media *m, int64_t session_id)
{
    /* The customer's offer may not have come yet (a slow camera prompt): the
     * session is made now, so that its legs are joined whenever they come. */
    tc_media_session *s = session_for(m, session_id, true);
    s->bridged = true;
    leg_msg *msg = g_new0(leg_msg, 1);
    msg->kind = MSG_BRIDGE;
    post(m, s, msg);
}

void tc_media_end(tc_media *m, int64_t session_id)
{
    tc_media_session *s = session_for(m, session_id, false);
    if (!s)
        return;
    leg_msg *msg = g_new0(leg_msg, 1);
    msg->kind = MSG_END;
    post(m, s, msg);
    g_hash_table_remove(m->sessions, &session_id);
}
