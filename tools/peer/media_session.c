/*
 * media_session.c: a tc_msession's transport: libnice (loopback only, upnp
 * off), the SDP offer/answer, DTLS over the selected pair and SRTP keying.
 * Incoming datagrams are demultiplexed by their first byte (RFC 7983).
 */
#include "msession_internal.h"

#include "telecounter/demux.h"
#include "telecounter/log.h"
#include "telecounter/loop.h"
#include "telecounter/random.h"
#include "telecounter/sdp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t tc_peer_mono_us(void)
{
    return g_get_monotonic_time();
}

int64_t tc_peer_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fail(tc_msession *s, const char *why)
{
    if (s->failed)
        return;
    s->failed = true;
    tc_warn("peer %s: media failed: %s", s->name, why);
    if (s->ev.on_failed)
        s->ev.on_failed(s->user, why);
}

/* ---- DTLS ----------------------------------------------------------------- */

static void dtls_send(void *user, const uint8_t *data, size_t len)
{
    tc_msession *s = user;
    nice_agent_send(s->agent, s->stream, 1, (guint)len, (const gchar *)data);
}

static void dtls_schedule(tc_msession *s);

static gboolean on_dtls_timer(gpointer data)
{
    tc_msession *s = data;
    g_source_unref(s->dtls_timer);
    s->dtls_timer = NULL;
    tc_dtls_on_timeout(s->dtls);
    dtls_schedule(s);
    return G_SOURCE_REMOVE;
}

static void dtls_schedule(tc_msession *s)
{
    if (s->dtls_timer) {
        g_source_destroy(s->dtls_timer);
        g_source_unref(s->dtls_timer);
        s->dtls_timer = NULL;
    }
    int ms = s->dtls ? tc_dtls_timeout_ms(s->dtls) : -1;
    if (ms < 0 || tc_dtls_state_of(s->dtls) != TC_DTLS_HANDSHAKING)
        return;
    s->dtls_timer = g_timeout_source_new((guint)ms);
    g_source_set_callback(s->dtls_timer, on_dtls_timer, s, NULL);
    g_source_attach(s->dtls_timer, s->ctx);
}

static void dtls_connected(tc_msession *s)
{
    uint8_t local[TC_SRTP_MAX_KEY_SALT], remote[TC_SRTP_MAX_KEY_SALT];
    if (tc_dtls_srtp_keys(s->dtls, &s->profile, local, remote) != 0) {
        fail(s, "no SRTP keys from DTLS");
        return;
    }
    s->srtp = tc_srtp_create(s->profile, local, remote);
    if (!s->srtp) {
        fail(s, "SRTP context");
        return;
    }
    s->connected = true;
    s->connected_us = tc_peer_mono_us();
    tc_info("peer %s: DTLS connected (%s) in %lld ms", s->name, tc_srtp_profile_name(s->profile),
            (long long)((s->connected_us - s->offer_us) / 1000));
    tc_msession_send_start(s);
    if (s->ev.on_connected)
        s->ev.on_connected(s->user);
}

static void dtls_after(tc_msession *s, tc_dtls_state st)
{
    dtls_schedule(s);
    if (st == TC_DTLS_CONNECTED && !s->connected)
        dtls_connected(s);
    else if (st == TC_DTLS_FAILED)
        fail(s, "DTLS handshake failed (fingerprint or alert)");
}

static void dtls_start_client(tc_msession *s)
{
    if (!s->dtls || s->dtls_server || s->dtls_started)
        return;
    s->dtls_started = true;
    if (s->faults)
        tc_faults_before_dtls(s);
    tc_debug("peer %s: DTLS client starts at %lld ms", s->name,
             (long long)((tc_peer_mono_us() - s->offer_us) / 1000));
    tc_dtls_start(s->dtls);
    dtls_after(s, tc_dtls_state_of(s->dtls));
}

/* ---- ICE ------------------------------------------------------------------ */

static void on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
                    gpointer data)
{
    (void)agent, (void)stream, (void)component;
    tc_msession *s = data;
    tc_loop_let_current_source_recurse();
    const uint8_t *p = (const uint8_t *)buf;
    if (len > sizeof s->pkt - TC_SRTP_MAX_TRAILER)
        return;
    switch (tc_demux_classify(p, len)) {
    case TC_DEMUX_DTLS:
        if (!s->dtls_heard++)
            tc_debug("peer %s: first DTLS record in at %lld ms", s->name,
                     (long long)((tc_peer_mono_us() - s->offer_us) / 1000));
        if (s->dtls)
            dtls_after(s, tc_dtls_feed(s->dtls, p, len));
        break;
    case TC_DEMUX_RTP:
    case TC_DEMUX_RTCP:
        if (s->faults)
            tc_faults_on_datagram(s, tc_demux_classify(p, len) == TC_DEMUX_RTCP);
        if (s->faults && s->srtp && tc_faults_drop_video(s, p, len))
            break;
        if (s->srtp) {
            memcpy(s->pkt, p, len);
            tc_msession_on_srtp(s, s->pkt, len, tc_demux_classify(p, len) == TC_DEMUX_RTCP);
        }
        break;
    default:
        break; /* STUN is libnice's; the rest is noise */
    }
}

static void emit_candidate(tc_msession *s, const char *c)
{
    if (s->ev.on_candidate)
        s->ev.on_candidate(s->user, c);
}

static void on_new_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
    tc_msession *s = data;
    gchar *sdp;
    if (s->cutbox) {
        /* the relay is told we are at the cutbox's B side */
        NiceCandidate *c = nice_candidate_copy(cand);
        tc_cutbox_set_peer(s->cutbox, (uint16_t)nice_address_get_port(&cand->addr));
        nice_address_set_port(&c->addr, tc_cutbox_port_b(s->cutbox));
        sdp = nice_agent_generate_local_candidate_sdp(agent, c);
        nice_candidate_free(c);
    } else {
        sdp = nice_agent_generate_local_candidate_sdp(agent, cand);
    }
    if (!sdp)
        return;
    const char *c = strncmp(sdp, "a=", 2) == 0 ? sdp + 2 : sdp;
    if (s->released)
        emit_candidate(s, c);
    else
        g_ptr_array_add(s->held_candidates, g_strdup(c));
    g_free(sdp);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
    (void)agent, (void)stream;
    tc_msession *s = data;
    s->gathering_done = true;
    if (s->released && !s->end_sent) {
        s->end_sent = true;
        emit_candidate(s, "");
    }
}

static void on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
    (void)agent, (void)stream, (void)component;
    tc_msession *s = data;
    if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
        if (!s->ice_connected)
            tc_info("peer %s: ICE connected in %lld ms", s->name,
                    (long long)((tc_peer_mono_us() - s->offer_us) / 1000));
        s->ice_connected = true;
        dtls_start_client(s);
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        fail(s, "ICE failed");
    }
}

static void on_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *l,
                    NiceCandidate *r, gpointer data)
{
    (void)agent, (void)stream, (void)component;
    tc_msession *s = data;
    char la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&l->addr, la);
    nice_address_to_string(&r->addr, ra);
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    snprintf(s->ice_pair, sizeof s->ice_pair, "%s:%u %s -> %s:%u %s udp", la,
             nice_address_get_port(&l->addr), types[l->type & 3], ra,
             nice_address_get_port(&r->addr), types[r->type & 3]);
    tc_msession_use_pair(s, true);
}

static void set_upnp_off(NiceAgent *agent)
{
    /* TESTING.md: upnp defaults on and sends SSDP multicast on every interface. */
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp"))
        g_object_set(agent, "upnp", FALSE, NULL);
}

static int ice_create(tc_msession *s)
{
    s->agent =
        nice_agent_new_full(s->ctx, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_ICE_TRICKLE);
    if (!s->agent)
        return -ENOMEM;
    set_upnp_off(s->agent);
    g_object_set(s->agent, "controlling-mode", s->offerer, "ice-tcp", FALSE, NULL);
    NiceAddress a;
    nice_address_init(&a);
    if (!nice_address_set_from_string(&a, s->cfg.local_address) ||
        !nice_agent_add_local_address(s->agent, &a))
        return -EINVAL;
    s->stream = nice_agent_add_stream(s->agent, 1);
    if (!s->stream)
        return -ENOMEM;
    g_signal_connect(s->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), s);
    g_signal_connect(s->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), s);
    g_signal_connect(s->agent, "component-state-changed", G_CALLBACK(on_state), s);
    g_signal_connect(s->agent, "new-selected-pair-full", G_CALLBACK(on_pair), s);
    nice_agent_attach_recv(s->agent, s->stream, 1, s->ctx, on_recv, s);
    return nice_agent_gather_candidates(s->agent, s->stream) ? 0 : -EIO;
}

static bool loopback_address(const char *a)
{
    return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

static NiceCandidate *nice_from_sdp(tc_msession *s, const tc_sdp_candidate *c)
{
    if (c->component != 1 || c->transport != TC_SDP_UDP || c->mdns || !loopback_address(c->address))
        return NULL;
    static const NiceCandidateType types[] = {
        NICE_CANDIDATE_TYPE_HOST, NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE,
        NICE_CANDIDATE_TYPE_PEER_REFLEXIVE, NICE_CANDIDATE_TYPE_RELAYED};
    NiceCandidate *nc = nice_candidate_new(types[c->type & 3]);
    nc->stream_id = s->stream;
    nc->component_id = 1;
    nc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
    nc->priority = c->priority;
    g_strlcpy(nc->foundation, c->foundation, sizeof nc->foundation);
    if (!nice_address_set_from_string(&nc->addr, c->address)) {
        nice_candidate_free(nc);
        return NULL;
    }
    nice_address_set_port(&nc->addr, c->port);
    if (s->cutbox) {
        /* we are told the relay is at the cutbox's A side; one relay address */
        if (!tc_cutbox_has_relay(s->cutbox))
            tc_cutbox_set_relay(s->cutbox, c->port);
        nice_address_set_port(&nc->addr, tc_cutbox_port_a(s->cutbox));
    }
    return nc;
}

static void add_remote(tc_msession *s, const tc_sdp_candidate *c)
{
    NiceCandidate *nc = nice_from_sdp(s, c);
    if (!nc)
        return;
    GSList *list = g_slist_append(NULL, nc);
    nice_agent_set_remote_candidates(s->agent, s->stream, 1, list);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
}

int tc_msession_add_remote_candidate(tc_msession *s, const char *candidate)
{
    if (!s->have_remote) {
        /* Trickled ahead of the answer: without the remote credentials libnice
         * would check the pair with the wrong password and back off. */
        g_ptr_array_add(s->early_remote, g_strdup(candidate));
        return 0;
    }
    if (!candidate[0]) {
        nice_agent_peer_candidate_gathering_done(s->agent, s->stream);
        return 0;
    }
    tc_sdp_candidate c;
    if (tc_sdp_parse_candidate(candidate, strlen(candidate), &c) != 0)
        return -EINVAL;
    add_remote(s, &c);
    return 0;
}

void tc_msession_release_candidates(tc_msession *s)
{
    s->released = true;
    for (guint i = 0; i < s->held_candidates->len; i++)
        emit_candidate(s, s->held_candidates->pdata[i]);
    g_ptr_array_set_size(s->held_candidates, 0);
    if (s->gathering_done && !s->end_sent) {
        s->end_sent = true;
        emit_candidate(s, "");
    }
}

/* ---- create / destroy ----------------------------------------------------- */

static void init_tx_ids(tc_msession *s)
{
    uint32_t r[4];
    tc_random_bytes(r, sizeof r);
    s->tx.audio = (tc_tx_stream){.pt = 111, .ssrc = r[0] | 1, .seq = (uint16_t)r[3]};
    s->tx.video = (tc_tx_stream){.pt = 96, .ssrc = r[1] | 1, .seq = (uint16_t)(r[3] >> 16)};
    s->tx.rtx_ssrc = r[2] | 1;
    snprintf(s->tx.audio.mid, sizeof s->tx.audio.mid, "0");
    snprintf(s->tx.video.mid, sizeof s->tx.video.mid, "1");
    s->rx.audio_pt = 111;
    s->rx.video_pt = 96;
    s->rx.rtx_pt = 97;
}

tc_msession *tc_msession_create(GMainContext *ctx, tc_dtls_ctx *dtls_ctx,
                                const tc_msession_config *cfg, const tc_msession_events *ev,
                                void *user)
{
    tc_msession *s = g_new0(tc_msession, 1);
    s->ctx = ctx;
    s->cfg = *cfg;
    if (!s->cfg.local_address)
        s->cfg.local_address = "127.0.0.1";
    s->ev = *ev;
    s->user = user;
    s->dtls_ctx = dtls_ctx;
    snprintf(s->name, sizeof s->name, "%s", cfg->name ? cfg->name : "peer");
    s->held_candidates = g_ptr_array_new_with_free_func(g_free);
    s->early_remote = g_ptr_array_new_with_free_func(g_free);
    s->offer_us = tc_peer_mono_us();
    s->reoffer_same_ice = -1;
    init_tx_ids(s);
    if (cfg->cuttable && !(s->cutbox = tc_cutbox_create(ctx))) {
        tc_msession_destroy(s);
        return NULL;
    }
    if (tc_msession_send_init(s) != 0 || tc_msession_recv_init(s) != 0) {
        tc_msession_destroy(s);
        return NULL;
    }
    if (tc_faults_wanted(&cfg->faults))
        s->faults = tc_faults_create(s);
    return s;
}

void tc_msession_destroy(tc_msession *s)
{
    if (!s)
        return;
    tc_msession_send_cleanup(s);
    tc_msession_recv_cleanup(s);
    if (s->dtls_timer) {
        g_source_destroy(s->dtls_timer);
        g_source_unref(s->dtls_timer);
    }
    if (s->agent) {
        nice_agent_attach_recv(s->agent, s->stream, 1, s->ctx, NULL, NULL);
        g_signal_handlers_disconnect_by_data(s->agent, s);
        nice_agent_remove_stream(s->agent, s->stream);
        g_object_unref(s->agent);
    }
    tc_dtls_destroy(s->dtls);
    tc_srtp_destroy(s->srtp);
    g_ptr_array_free(s->held_candidates, TRUE);
    g_ptr_array_free(s->early_remote, TRUE);
    tc_cutbox_destroy(s->cutbox);
    tc_faults_destroy(s->faults);
    g_free(s);
}

/* ---- SDP ------------------------------------------------------------------ */

static uint8_t mid_ext_id(const tc_sdp_media *m)
{
    for (unsigned i = 0; i < m->n_extmaps; i++)
        if (strcmp(m->extmaps[i].uri, TC_PEER_MID_EXT_URI) == 0)
            return m->extmaps[i].id;
    return 0;
}

/* The first codec of the m-line that is not rtx (an answer lists the chosen
 * codec first), and the rtx whose apt names it. */
static void take_codecs(const tc_sdp_media *m, uint8_t *pt, uint8_t *rtx_pt)
{
    int main_pt = -1;
    for (unsigned i = 0; i < m->n_codecs; i++) {
        if (g_ascii_strcasecmp(m->codecs[i].name, "rtx") != 0 && main_pt < 0)
            main_pt = m->codecs[i].pt;
        else if (rtx_pt && main_pt >= 0 && m->codecs[i].apt == main_pt)
            *rtx_pt = m->codecs[i].pt;
    }
    if (main_pt >= 0)
        *pt = (uint8_t)main_pt;
}

static void apply_media(tc_msession *s, const tc_sdp_media *m)
{
    if (m->port == 0)
        return;
    if (m->kind == TC_SDP_AUDIO) {
        take_codecs(m, &s->tx.audio.pt, NULL);
        s->rx.audio_pt = s->tx.audio.pt;
        snprintf(s->tx.audio.mid, sizeof s->tx.audio.mid, "%.15s", m->mid);
    } else if (m->kind == TC_SDP_VIDEO) {
        take_codecs(m, &s->tx.video.pt, &s->rx.rtx_pt);
        s->rx.video_pt = s->tx.video.pt;
        snprintf(s->tx.video.mid, sizeof s->tx.video.mid, "%.15s", m->mid);
        s->rx.remote_video_ssrc = m->has_fid ? m->fid[0] : m->n_ssrcs ? m->ssrcs[0].ssrc : 0;
    }
    if (!s->tx.mid_ext_id)
        s->tx.mid_ext_id = mid_ext_id(m);
    for (unsigned c = 0; c < m->n_candidates; c++)
        add_remote(s, &m->candidates[c]);
    if (m->end_of_candidates)
        nice_agent_peer_candidate_gathering_done(s->agent, s->stream);
}

/* Takes the other side's description: ICE credentials, fingerprint, payload
 * types, SSRCs, candidates; then makes the DTLS end. */
static int apply_remote(tc_msession *s, const tc_sdp *d, bool we_answer)
{
    if (d->n_media == 0)
        return -EINVAL;
    const tc_sdp_media *m0 = &d->media[0];
    if (!m0->fingerprint.present || strcmp(m0->fingerprint.algo, "sha-256") != 0 ||
        m0->fingerprint.len != 32 || !m0->ice_ufrag[0] || !m0->ice_pwd[0])
        return -EINVAL;
    memcpy(s->remote_fp, m0->fingerprint.hash, 32);
    if (!nice_agent_set_remote_credentials(s->agent, s->stream, m0->ice_ufrag, m0->ice_pwd))
        return -EINVAL;
    snprintf(s->remote_ufrag, sizeof s->remote_ufrag, "%s", m0->ice_ufrag);
    snprintf(s->remote_pwd, sizeof s->remote_pwd, "%s", m0->ice_pwd);
    for (unsigned i = 0; i < d->n_media; i++)
        apply_media(s, &d->media[i]);
    s->dtls_server = we_answer || m0->setup == TC_SDP_SETUP_ACTIVE;
    s->dtls = tc_dtls_create(s->dtls_ctx, s->remote_fp, s->dtls_server, dtls_send, s);
    if (!s->dtls)
        return -ENOMEM;
    s->have_remote = true;
    for (guint i = 0; i < s->early_remote->len; i++)
        tc_msession_add_remote_candidate(s, s->early_remote->pdata[i]);
    g_ptr_array_set_size(s->early_remote, 0);
    if (s->ice_connected)
        dtls_start_client(s);
    return 0;
}

int tc_msession_create_offer(tc_msession *s, char *buf, size_t cap)
{
    s->offerer = true;
    int rc = ice_create(s);
    if (rc)
        return rc;
    gchar *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(s->agent, s->stream, &ufrag, &pwd))
        return -EIO;
    rc = tc_peer_write_offer(s, ufrag, pwd, buf, cap);
    g_free(ufrag);
    g_free(pwd);
    s->offer_us = tc_peer_mono_us();
    if (rc > 0 && s->faults)
        tc_faults_on_offer(s, buf);
    return rc;
}

static int apply_restart_answer(tc_msession *s, const tc_sdp *d)
{
    if (d->n_media == 0)
        return -EINVAL;
    const tc_sdp_media *m0 = &d->media[0];
    if (!m0->fingerprint.present || m0->fingerprint.len != 32 ||
        memcmp(m0->fingerprint.hash, s->remote_fp, 32) != 0 || !m0->ice_ufrag[0] || !m0->ice_pwd[0])
        return -EINVAL; /* a restart keeps the relay's certificate */
    if (!nice_agent_set_remote_credentials(s->agent, s->stream, m0->ice_ufrag, m0->ice_pwd))
        return -EINVAL;
    snprintf(s->remote_ufrag, sizeof s->remote_ufrag, "%s", m0->ice_ufrag);
    snprintf(s->remote_pwd, sizeof s->remote_pwd, "%s", m0->ice_pwd);
    for (unsigned i = 0; i < d->n_media; i++)
        apply_media(s, &d->media[i]);
    s->restarting = false;
    return 0;
}

/* The answer to a re-offer: like a browser that did not restart ICE, keep the
 * remote credentials we have (new ones would be the answerer restarting on
 * its own); note whether they were repeated. */
static int apply_reoffer_answer(tc_msession *s, const tc_sdp *d)
{
    if (d->n_media == 0)
        return -EINVAL;
    const tc_sdp_media *m0 = &d->media[0];
    if (!m0->fingerprint.present || m0->fingerprint.len != 32 ||
        memcmp(m0->fingerprint.hash, s->remote_fp, 32) != 0)
        return -EINVAL;
    s->reoffer_same_ice =
        strcmp(m0->ice_ufrag, s->remote_ufrag) == 0 && strcmp(m0->ice_pwd, s->remote_pwd) == 0;
    for (unsigned i = 0; i < d->n_media; i++)
        apply_media(s, &d->media[i]);
    s->reoffering = false;
    return 0;
}

int tc_msession_set_answer(tc_msession *s, const char *sdp, size_t len)
{
    if (s->agent && (s->restarting || s->reoffering)) {
        tc_sdp *d = g_new(tc_sdp, 1);
        int rc = tc_sdp_parse(sdp, len, d);
        if (rc == 0)
            rc = s->restarting ? apply_restart_answer(s, d) : apply_reoffer_answer(s, d);
        g_free(d);
        return rc ? -EINVAL : 0;
    }
    if (!s->agent || s->have_remote)
        return -EALREADY;
    tc_sdp *d = g_new(tc_sdp, 1);
    int rc = tc_sdp_parse(sdp, len, d);
    if (rc == 0)
        rc = apply_remote(s, d, false);
    g_free(d);
    return rc ? -EINVAL : 0;
}

static int write_answer(tc_msession *s, const tc_sdp *offer, char *buf, size_t cap)
{
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8"};
    tc_sdp_choice choices[TC_SDP_MAX_MEDIA];
    char why[128];
    if (tc_sdp_select(offer, &prefs, choices, why, sizeof why) != 0) {
        tc_warn("peer %s: offer unusable: %s", s->name, why);
        return -EINVAL;
    }
    gchar *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(s->agent, s->stream, &ufrag, &pwd))
        return -EIO;
    tc_sdp_local local = {.ice_ufrag = ufrag,
                          .ice_pwd = pwd,
                          .session_id = s->tx.audio.ssrc,
                          .cname = "tcpeer",
                          .msid_stream = "tcpeer"};
    memcpy(local.fingerprint_sha256, tc_dtls_ctx_fingerprint(s->dtls_ctx), 32);
    for (unsigned i = 0; i < offer->n_media && i < TC_SDP_MAX_MEDIA; i++) {
        bool video = offer->media[i].kind == TC_SDP_VIDEO;
        local.ssrc[i] = video ? s->tx.video.ssrc : s->tx.audio.ssrc;
        local.rtx_ssrc[i] = video ? s->tx.rtx_ssrc : 0;
    }
    int rc = tc_sdp_write_answer(offer, choices, &prefs, &local, buf, cap);
    g_free(ufrag);
    g_free(pwd);
    return rc;
}

int tc_msession_answer_offer(tc_msession *s, const char *offer, size_t len, char *buf, size_t cap)
{
    s->offerer = false;
    int rc = ice_create(s);
    if (rc)
        return rc;
    tc_sdp *d = g_new(tc_sdp, 1);
    rc = tc_sdp_parse(offer, len, d);
    if (rc == 0)
        rc = apply_remote(s, d, true);
    if (rc == 0)
        rc = write_answer(s, d, buf, cap);
    g_free(d);
    return rc;
}

void tc_msession_set_analyze(tc_msession *s, bool on)
{
    if (on && !s->rx.analyzing) {
        s->rx.hold_audio_packets = s->rx.audio_received;
        s->rx.hold_voiced = s->rx.meter.voiced;
    }
    s->rx.analyzing = on;
    s->rx.meter.estimate = on;
}

void tc_msession_stats(const tc_msession *s, tc_peer_media_stats *out)
{
    memset(out, 0, sizeof *out);
    tc_msession_recv_stats(s, out);
    out->audio_sent = s->tx.audio_sent;
    out->video_sent = s->tx.video_sent;
    out->video_frames_sent = s->tx.video_frames;
    out->video_bytes_sent = s->tx.video_bytes;
    out->keyframes_sent = s->tx.keyframes;
    out->plis_sent = s->tx.plis_sent;
    out->ice_connected = s->ice_connected;
    out->dtls_connected = s->connected;
    snprintf(out->ice_pair, sizeof out->ice_pair, "%s", s->ice_pair);
    snprintf(out->srtp_profile, sizeof out->srtp_profile, "%s",
             s->connected ? tc_srtp_profile_name(s->profile) : "");
    out->offer_to_dtls_ms = s->connected ? (s->connected_us - s->offer_us) / 1000 : -1;
    out->first_video_us = s->rx.first_video_us;
    if (s->faults)
        tc_faults_stats(s, out);
}

/* ---- reconnect scenarios --------------------------------------------------- */

void tc_msession_set_cut(tc_msession *s, bool cut)
{
    if (s->cutbox) {
        tc_cutbox_set_cut(s->cutbox, cut);
        tc_info("peer %s: network %s (%llu datagrams dropped so far)", s->name,
                cut ? "cut" : "back", (unsigned long long)tc_cutbox_dropped(s->cutbox));
    }
}

int tc_msession_restart_offer(tc_msession *s, char *buf, size_t cap)
{
    if (!s->agent || !s->have_remote)
        return -EALREADY;
    tc_msession_use_pair(s, false);
    if (!nice_agent_restart_stream(s->agent, s->stream))
        return -EIO;
    gchar *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(s->agent, s->stream, &ufrag, &pwd))
        return -EIO;
    int rc = tc_peer_write_offer(s, ufrag, pwd, buf, cap);
    g_free(ufrag);
    g_free(pwd);
    s->restarting = rc > 0;
    tc_info("peer %s: ICE restart offer", s->name);
    return rc;
}

bool tc_msession_restarting(const tc_msession *s)
{
    return s->restarting;
}

int tc_msession_reoffer(tc_msession *s, char *buf, size_t cap)
{
    if (!s->agent || !s->have_remote || s->restarting)
        return -EALREADY;
    gchar *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(s->agent, s->stream, &ufrag, &pwd))
        return -EIO;
    int rc = tc_peer_write_offer(s, ufrag, pwd, buf, cap);
    g_free(ufrag);
    g_free(pwd);
    s->reoffering = rc > 0;
    tc_info("peer %s: re-offer, same ICE credentials", s->name);
    return rc;
}

bool tc_msession_reoffering(const tc_msession *s)
{
    return s->reoffering;
}

int tc_msession_reoffer_same_ice(const tc_msession *s)
{
    return s->reoffer_same_ice;
}

void tc_msession_resend_candidates(tc_msession *s)
{
    GSList *list = nice_agent_get_local_candidates(s->agent, s->stream, 1);
    for (GSList *l = list; l; l = l->next)
        on_new_candidate(s->agent, l->data, s);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    emit_candidate(s, "");
}

void tc_msession_reset_latency(tc_msession *s)
{
    memset(s->rx.lat, 0, sizeof s->rx.lat);
    s->rx.lat_n = 0;
    s->rx.lat_max = -1;
}
