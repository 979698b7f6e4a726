/*
 * leg.c: one peer connection between the relay and a browser, on its worker.
 *
 *   libnice (ICE, one component: BUNDLE + rtcp-mux) -> first byte (RFC 7983)
 *     DTLS      -> tc_dtls; when it connects and the fingerprint matched, SRTP
 *                  (its OpenSSL state is freed at the peer's first authenticated
 *                  packet; only a closing alert is looked for afterwards)
 *     RTP/RTCP  -> SRTP unprotect -> relay.c to the partner leg (if bridged)
 *
 * Sending: DTLS goes through libnice. Protected media too, unless the selected
 * pair is plain UDP (the usual case): then it goes into the worker's udp_batch
 * for that pair's socket and address, and leaves with the rest of its burst in
 * one sendmmsg (the "direct" path; udp_batch.h says why). libnice keeps the
 * socket, its checks and its keepalives; the leg only borrows the descriptor
 * while the pair is selected and up, and flushes the batch before it could go.
 *
 * Nothing is forwarded, and nothing but DTLS is accepted, before the
 * handshake finished; a packet that fails SRTP is dropped and counted. A
 * queued customer's leg plays hold audio until it is bridged to a connected
 * agent. Losing ICE starts the grace timer (media.grace_s); ICE coming back,
 * or an ICE restart, stops it.
 */
#include "media_internal.h"

#include "telecounter/clock.h"
#include "telecounter/demux.h"
#include "telecounter/ice_socket.h"
#include "telecounter/log.h"
#include "telecounter/loop.h"

#include <errno.h>
#include <interfaces.h>
#include <stdio.h>
#include <string.h>

struct tc_leg {
    tc_worker *worker;
    const tc_media_shared *sh;
    int64_t session_id;
    tc_media_side side;
    NiceAgent *agent;
    guint stream_id;
    tc_dtls *dtls;
    GSource *dtls_timer, *grace_timer, *hold_timer, *second_timer;
    unsigned seconds;
    tc_srtp *srtp;
    tc_srtp_profile profile;
    bool ice_ready, ice_failed;
    bool silent; /* nothing received for TC_SILENCE_S: nothing is sent to it */
    int64_t last_rx_us;
    tc_leg *partner;
    tc_relay_stream streams[TC_SDP_MAX_MEDIA];
    int n_streams;
    uint8_t uri_of_id[256]; /* extension id -> 1 + index in the kept list, 0 = none */
    uint8_t id_of_uri[16];
    uint8_t ext_map[256]; /* to the partner, rebuilt on bridging */
    uint16_t hold_seq;
    uint32_t hold_ts;
    int hold_next;
    tc_leg_stats stats;
    uint64_t last_rx_bytes, last_tx_bytes;
    /* DTLS datagrams written before ICE had a pair to send them on (a client
     * hello can arrive first): sent as soon as it has one, not a second later. */
    GPtrArray *unsent_dtls;
    tc_ice_socket direct; /* fd -1: send through libnice */
};

#define TC_UNSENT_DTLS_MAX 8
/* A connected browser sends something at least every 20 ms (audio) and RTCP
 * every second; this long with nothing means the path is gone. */
#define TC_SILENCE_S 5

int64_t tc_leg_session(const tc_leg *leg)
{
    return leg->session_id;
}

tc_media_side tc_leg_side(const tc_leg *leg)
{
    return leg->side;
}

bool tc_leg_connected(const tc_leg *leg)
{
    return leg->srtp != NULL && leg->ice_ready && !leg->silent;
}

tc_relay_stream *tc_leg_streams(tc_leg *leg, int *count)
{
    *count = leg->n_streams;
    return leg->streams;
}

tc_leg *tc_leg_partner(tc_leg *leg)
{
    return leg->partner;
}

tc_leg_stats *tc_leg_stats_of(tc_leg *leg)
{
    return &leg->stats;
}

uint32_t tc_leg_max_bitrate_bps(const tc_leg *leg)
{
    return (uint32_t)leg->sh->cfg->media_max_bitrate_bps;
}

static void cancel(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static GSource *every_ms(tc_leg *leg, unsigned ms, GSourceFunc fn)
{
    GSource *src = g_timeout_source_new(ms);
    g_source_set_callback(src, fn, leg, NULL);
    g_source_attach(src, tc_worker_context(leg->worker));
    return src;
}

/* ---- extension ids ------------------------------------------------------- */

static void learn_extmaps(tc_leg *leg, const tc_leg_params *p)
{
    const tc_sdp *offer = p->offer;
    size_t n_kept;
    const char *const *kept = tc_sdp_default_extmaps(&n_kept);
    memset(leg->uri_of_id, 0, sizeof leg->uri_of_id);
    memset(leg->id_of_uri, 0, sizeof leg->id_of_uri);
    for (int m = 0; m < offer->n_media; m++) {
        for (int e = 0; e < offer->media[m].n_extmaps; e++) {
            const tc_sdp_extmap *x = &offer->media[m].extmaps[e];
            /* only what the answer echoed: never a second URI for one id */
            if (!tc_sdp_extmap_kept(offer, p->choices, NULL, (unsigned)m, (unsigned)e))
                continue;
            for (size_t k = 0; k < n_kept && k < sizeof leg->id_of_uri; k++) {
                if (strcmp(x->uri, kept[k]) == 0) {
                    leg->uri_of_id[x->id] = (uint8_t)(k + 1);
                    leg->id_of_uri[k] = x->id;
                }
            }
        }
    }
}

static gboolean on_hold_tick(gpointer data);

void tc_leg_set_partner(tc_leg *leg, tc_leg *partner)
{
    leg->partner = partner;
    if (!partner && !leg->hold_timer && leg->side == TC_SIDE_CUSTOMER &&
        leg->sh->cfg->media_hold_audio)
        leg->hold_timer = every_ms(leg, 20, on_hold_tick);
    memset(leg->ext_map, 0, sizeof leg->ext_map);
    if (!partner)
        return;
    for (int id = 1; id < 256; id++)
        if (leg->uri_of_id[id])
            leg->ext_map[id] = partner->id_of_uri[leg->uri_of_id[id] - 1];
}

uint8_t *tc_leg_ext_map_to(tc_leg *from, tc_leg *to)
{
    (void)to;
    return from->ext_map;
}

/* ---- sending --------------------------------------------------------------- */

static void send_raw(tc_leg *leg, const uint8_t *p, size_t len)
{
    if (nice_agent_send(leg->agent, leg->stream_id, 1, (guint)len, (const gchar *)p) >= 0) {
        leg->stats.tx_packets++;
        leg->stats.tx_bytes += len;
    }
}

static void send_media(tc_leg *leg, const uint8_t *p, size_t len)
{
    if (leg->direct.fd < 0) {
        send_raw(leg, p, len);
    } else if (tc_udp_batch_add(tc_worker_batch(leg->worker), leg->direct.fd,
                                (const struct sockaddr *)&leg->direct.to, leg->direct.to_len, p,
                                len) == 0) {
        leg->stats.tx_packets++;
        leg->stats.tx_bytes += len;
    }
}

void tc_leg_send_rtp(tc_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
    if (leg->srtp && tc_srtp_protect_rtp(leg->srtp, buf, &len, cap) == 0)
        send_media(leg, buf, len);
}

void tc_leg_send_rtcp(tc_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
    if (leg->srtp && tc_srtp_protect_rtcp(leg->srtp, buf, &len, cap) == 0)
        send_media(leg, buf, len);
}

/* Stop borrowing the pair's socket: what is held for it leaves first. */
static void drop_direct(tc_leg *leg)
{
    if (leg->direct.fd < 0)
        return;
    tc_udp_batch_flush(tc_worker_batch(leg->worker));
    leg->direct.fd = -1;
}

static void take_direct(tc_leg *leg)
{
    drop_direct(leg);
    tc_ice_socket_of(leg->agent, leg->stream_id, 1, &leg->direct);
}

static void dtls_send(void *user, const uint8_t *data, size_t len)
{
    tc_leg *leg = user;
    if (nice_agent_send(leg->agent, leg->stream_id, 1, (guint)len, (const gchar *)data) >= 0) {
        leg->stats.tx_packets++;
        leg->stats.tx_bytes += len;
    } else if (leg->unsent_dtls->len < TC_UNSENT_DTLS_MAX) {
        g_ptr_array_add(leg->unsent_dtls, g_bytes_new(data, len));
    }
}

static void flush_unsent_dtls(tc_leg *leg)
{
    for (guint i = 0; i < leg->unsent_dtls->len; i++) {
        gsize len;
        const uint8_t *p = g_bytes_get_data(leg->unsent_dtls->pdata[i], &len);
        send_raw(leg, p, len);
    }
    g_ptr_array_set_size(leg->unsent_dtls, 0);
}

/* ---- DTLS ------------------------------------------------------------------ */

static void start_grace(tc_leg *leg);

static void arm_dtls_timer(tc_leg *leg);

static gboolean on_dtls_timer(gpointer data)
{
    tc_leg *leg = data;
    g_source_unref(leg->dtls_timer);
    leg->dtls_timer = NULL;
    if (tc_dtls_on_timeout(leg->dtls) == TC_DTLS_FAILED)
        tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_FAILED);
    else
        arm_dtls_timer(leg);
    return G_SOURCE_REMOVE;
}

static void arm_dtls_timer(tc_leg *leg)
{
    cancel(&leg->dtls_timer);
    int ms = tc_dtls_timeout_ms(leg->dtls);
    if (ms >= 0)
        leg->dtls_timer = every_ms(leg, (unsigned)(ms > 0 ? ms : 1), on_dtls_timer);
}

static void dtls_connected(tc_leg *leg)
{
    uint8_t local[TC_SRTP_MAX_KEY_SALT], remote[TC_SRTP_MAX_KEY_SALT];
    int rc = tc_dtls_srtp_keys(leg->dtls, &leg->profile, local, remote);
    if (rc != 0 || !(leg->srtp = tc_srtp_create(leg->profile, local, remote))) {
        tc_warn("media %" G_GINT64_FORMAT "/%d: no usable SRTP profile (%d, profile %d)",
                leg->session_id, leg->side, rc, (int)leg->profile);
        tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_FAILED);
        return;
    }
    leg->stats.connected_at_us = g_get_real_time();
    snprintf(leg->stats.srtp_profile, sizeof leg->stats.srtp_profile, "%s",
             tc_srtp_profile_name(leg->profile));
    tc_info("media %" G_GINT64_FORMAT "/%d: DTLS done, %s", leg->session_id, leg->side,
            leg->stats.srtp_profile);
    tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_CONNECTED);
    if (leg->partner && tc_leg_connected(leg->partner)) {
        tc_relay_request_keyframe(leg);
        tc_relay_request_keyframe(leg->partner);
    }
}

static void on_dtls_packet(tc_leg *leg, const uint8_t *p, size_t len)
{
    tc_dtls_state before = tc_dtls_state_of(leg->dtls);
    tc_dtls_state after = tc_dtls_feed(leg->dtls, p, len);
    arm_dtls_timer(leg);
    if (before == after)
        return;
    if (after == TC_DTLS_CONNECTED) {
        dtls_connected(leg);
    } else if (after == TC_DTLS_FAILED) {
        tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_FAILED);
    } else if (after == TC_DTLS_CLOSED) {
        /* The browser closed its peer connection: a page reload or a network
         * change, usually followed within seconds by a new offer that replaces
         * this leg. Only if none comes within the grace window has it failed. */
        tc_info("media %" G_GINT64_FORMAT "/%d: the peer closed DTLS", leg->session_id, leg->side);
        start_grace(leg);
    }
}

/* ---- receiving ------------------------------------------------------------- */

/* The peer is heard again: the path is back, whatever the grace timer says. */
static void end_silence(tc_leg *leg)
{
    leg->silent = false;
    cancel(&leg->grace_timer);
    tc_info("media %" G_GINT64_FORMAT "/%d: the peer is back", leg->session_id, leg->side);
    tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_CONNECTED);
}

static void on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
                    gpointer data)
{
    (void)agent, (void)stream_id, (void)component_id;
    tc_leg *leg = data;
    tc_loop_let_current_source_recurse();
    uint8_t pkt[TC_PACKET_CAP];
    if (len == 0 || len > TC_MAX_PACKET) {
        leg->stats.rx_dropped++;
        return;
    }
    leg->stats.rx_packets++;
    leg->stats.rx_bytes += len;
    leg->last_rx_us = g_get_monotonic_time();
    if (leg->silent)
        end_silence(leg);
    tc_demux_kind kind = tc_demux_classify((const uint8_t *)buf, len);
    if (kind == TC_DEMUX_DTLS) {
        on_dtls_packet(leg, (const uint8_t *)buf, len);
        return;
    }
    if ((kind != TC_DEMUX_RTP && kind != TC_DEMUX_RTCP) || !leg->srtp) {
        leg->stats.rx_dropped++; /* plain media before DTLS, or not media at all */
        return;
    }
    memcpy(pkt, buf, len);
    size_t n = len;
    int rc = kind == TC_DEMUX_RTP ? tc_srtp_unprotect_rtp(leg->srtp, pkt, &n)
                                  : tc_srtp_unprotect_rtcp(leg->srtp, pkt, &n);
    if (rc != 0) {
        leg->stats.rx_dropped++;
        return;
    }
    /* An authenticated packet: the peer has our last flight, so the DTLS
     * state can go (idempotent; a pointer test once done). */
    tc_dtls_release(leg->dtls);
    tc_leg *to = leg->partner && tc_leg_connected(leg->partner) ? leg->partner : NULL;
    rc =
        kind == TC_DEMUX_RTP ? tc_relay_on_rtp(leg, to, pkt, n) : tc_relay_on_rtcp(leg, to, pkt, n);
    if (rc < 0)
        leg->stats.rx_dropped++;
}

/* ---- ICE ------------------------------------------------------------------- */

static void on_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
    tc_leg *leg = data;
    gchar *line = nice_agent_generate_local_candidate_sdp(agent, cand);
    if (!line)
        return;
    const char *text = g_str_has_prefix(line, "a=") ? line + 2 : line;
    tc_media_post_candidate(leg->sh, leg->session_id, leg->side, text, "0", 0);
    const char *public_address = leg->sh->cfg->media_public_address;
    if (public_address[0] && cand->type == NICE_CANDIDATE_TYPE_HOST) {
        /* 1:1 NAT: the same port answers on the public address; say so too. */
        gchar **tok = g_strsplit(text, " ", -1);
        if (g_strv_length(tok) > 5) {
            g_free(tok[4]);
            tok[4] = g_strdup(public_address);
            gchar *foundation = g_strconcat(tok[0], "p", NULL); /* a foundation of its own */
            g_free(tok[0]);
            tok[0] = foundation;
            gchar *mapped = g_strjoinv(" ", tok);
            tc_media_post_candidate(leg->sh, leg->session_id, leg->side, mapped, "0", 0);
            g_free(mapped);
        }
        g_strfreev(tok);
    }
    g_free(line);
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
    (void)agent, (void)stream_id;
    tc_leg *leg = data;
    tc_media_post_candidate(leg->sh, leg->session_id, leg->side, "", "0", 0);
}

static gboolean on_grace_over(gpointer data)
{
    tc_leg *leg = data;
    g_source_unref(leg->grace_timer);
    leg->grace_timer = NULL;
    tc_info("media %" G_GINT64_FORMAT "/%d: no ICE for %d s, failed", leg->session_id, leg->side,
            leg->sh->cfg->media_grace_s);
    tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_FAILED);
    return G_SOURCE_REMOVE;
}

static void on_state(NiceAgent *agent, guint stream_id, guint component_id, guint state,
                     gpointer data)
{
    (void)agent, (void)stream_id, (void)component_id;
    tc_leg *leg = data;
    bool up = state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY;
    if (up && !leg->ice_ready) {
        leg->ice_ready = true;
        take_direct(leg);
        flush_unsent_dtls(leg);
        bool was_lost = leg->grace_timer != NULL;
        cancel(&leg->grace_timer);
        if (was_lost && leg->srtp)
            tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_CONNECTED);
    } else if (state == NICE_COMPONENT_STATE_FAILED ||
               (state == NICE_COMPONENT_STATE_DISCONNECTED && leg->ice_ready)) {
        leg->ice_ready = false;
        drop_direct(leg);
        start_grace(leg);
    }
}

/* The media path is lost: say so, and fail the leg if it stays lost. */
static void start_grace(tc_leg *leg)
{
    if (leg->grace_timer)
        return;
    tc_media_post_state(leg->sh, leg->session_id, leg->side, TC_MEDIA_RECONNECTING);
    leg->grace_timer = every_ms(leg, (unsigned)leg->sh->cfg->media_grace_s * 1000, on_grace_over);
}

static void on_selected_pair(NiceAgent *agent, guint stream_id, guint component_id,
                             NiceCandidate *local, NiceCandidate *remote, gpointer data)
{
    (void)agent, (void)stream_id, (void)component_id, (void)local;
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    tc_leg *leg = data;
    snprintf(leg->stats.pair_type, sizeof leg->stats.pair_type, "%s/%s",
             remote->type <= NICE_CANDIDATE_TYPE_RELAYED ? types[remote->type] : "?",
             remote->transport == NICE_CANDIDATE_TRANSPORT_UDP ? "udp" : "tcp");
    if (leg->ice_ready)
        take_direct(leg);
}

/* ---- hold audio and statistics ----------------------------------------------- */

static int audio_stream(const tc_leg *leg)
{
    for (int i = 0; i < leg->n_streams; i++)
        if (leg->streams[i].accepted && leg->streams[i].kind == TC_SDP_AUDIO)
            return i;
    return -1;
}

/* Every 20 ms: the next frame of hold audio, unless the call carries audio now. */
static gboolean on_hold_tick(gpointer data)
{
    tc_leg *leg = data;
    const tc_media_shared *sh = leg->sh;
    int a = audio_stream(leg);
    if (leg->partner && tc_leg_connected(leg->partner)) {
        /* The call carries audio now: no wake-ups every 20 ms for nothing.
         * tc_leg_set_partner starts the chime again if the agent goes. */
        g_source_unref(leg->hold_timer);
        leg->hold_timer = NULL;
        return G_SOURCE_REMOVE;
    }
    if (a < 0 || !leg->srtp || leg->silent || sh->hold_frame_count == 0)
        return G_SOURCE_CONTINUE;
    const uint8_t *frame = sh->hold_frames + sh->hold_frame_offset[leg->hold_next];
    size_t frame_len = sh->hold_frame_len[leg->hold_next];
    uint8_t pkt[TC_PACKET_CAP] = {0x80, leg->streams[a].pt};
    pkt[2] = (uint8_t)(leg->hold_seq >> 8);
    pkt[3] = (uint8_t)leg->hold_seq;
    for (int i = 0; i < 4; i++)
        pkt[4 + i] = (uint8_t)(leg->hold_ts >> (24 - 8 * i));
    memcpy(pkt + 12, frame, frame_len);
    leg->hold_seq++;
    leg->hold_ts += 960; /* 20 ms at 48 kHz */
    leg->hold_next = (leg->hold_next + 1) % sh->hold_frame_count;
    tc_relay_send_stream(leg, a, 0, pkt, 12 + frame_len, sizeof pkt);
    return G_SOURCE_CONTINUE;
}

/* Once a second: our RTCP reports; every other second, statistics for the
 * control thread. One timer, not two: every GSource costs the loop a little on
 * every wake-up, for every leg. */
static void start_grace(tc_leg *leg);

static gboolean on_second(gpointer data)
{
    tc_leg *leg = data;
    int64_t now = g_get_monotonic_time();
    if (leg->srtp && !leg->silent && now - leg->last_rx_us > TC_SILENCE_S * G_USEC_PER_SEC) {
        /* Stop sending to a peer that says nothing (what consent freshness is
         * for), and give it the grace window to come back. */
        tc_info("media %" G_GINT64_FORMAT "/%d: nothing received for %d s", leg->session_id,
                leg->side, TC_SILENCE_S);
        leg->silent = true;
        start_grace(leg);
    }
    if (leg->srtp)
        tc_report_send(leg, now);
    if (++leg->seconds % 2)
        return G_SOURCE_CONTINUE;
    leg->stats.rx_bitrate_bps = (uint32_t)((leg->stats.rx_bytes - leg->last_rx_bytes) * 8 / 2);
    leg->stats.tx_bitrate_bps = (uint32_t)((leg->stats.tx_bytes - leg->last_tx_bytes) * 8 / 2);
    leg->last_rx_bytes = leg->stats.rx_bytes;
    leg->last_tx_bytes = leg->stats.tx_bytes;
    tc_media_post_stats(leg->sh, leg->session_id, leg->side, &leg->stats);
    return G_SOURCE_CONTINUE;
}

/* ---- life ------------------------------------------------------------------ */

static void add_local_addresses(tc_leg *leg)
{
    const tc_config *cfg = leg->sh->cfg;
    gchar **names = g_strsplit(cfg->media_interfaces, ",", -1);
    for (gchar **n = names; *n; n++) {
        if (!*g_strstrip(*n))
            continue;
        gchar *ip = nice_interfaces_get_ip_for_interface(*n);
        NiceAddress addr;
        if (ip && nice_address_set_from_string(&addr, ip))
            nice_agent_add_local_address(leg->agent, &addr);
        else
            tc_warn("media: interface %s has no address", *n);
        g_free(ip);
    }
    g_strfreev(names);
    if (cfg->media_loopback) {
        NiceAddress lo;
        nice_address_init(&lo);
        if (nice_address_set_from_string(&lo, "127.0.0.1"))
            nice_agent_add_local_address(leg->agent, &lo);
    }
}

static bool make_agent(tc_leg *leg)
{
    const tc_config *cfg = leg->sh->cfg;
    leg->agent =
        /* Not libnice's consent freshness: in 0.1.21 one failed consent check
         * stops sending for good (only an ICE restart, which the answering
         * relay cannot start, brings it back), so a 5 s network cut left calls
         * one-way. The silence watch in on_second does its job and recovers. */
        nice_agent_new_full(tc_worker_context(leg->worker), NICE_COMPATIBILITY_RFC5245,
                            NICE_AGENT_OPTION_ICE_TRICKLE);
    if (!leg->agent)
        return false;
    /* Never UPnP: its default sends SSDP multicast on every interface. */
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(leg->agent), "upnp"))
        g_object_set(leg->agent, "upnp", FALSE, NULL);
    g_object_set(leg->agent, "controlling-mode", FALSE, "ice-tcp", (gboolean)cfg->media_ice_tcp,
                 NULL);
    add_local_addresses(leg);
    g_signal_connect(leg->agent, "new-candidate-full", G_CALLBACK(on_candidate), leg);
    g_signal_connect(leg->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), leg);
    g_signal_connect(leg->agent, "component-state-changed", G_CALLBACK(on_state), leg);
    g_signal_connect(leg->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), leg);
    leg->stream_id = nice_agent_add_stream(leg->agent, 1);
    if (!leg->stream_id)
        return false;
    if (cfg->media_port_min && cfg->media_port_max)
        nice_agent_set_port_range(leg->agent, leg->stream_id, 1, (guint)cfg->media_port_min,
                                  (guint)cfg->media_port_max);
    nice_agent_attach_recv(leg->agent, leg->stream_id, 1, tc_worker_context(leg->worker), on_recv,
                           leg);
    return true;
}

static tc_rtx_buffer *make_rtx_buffer(size_t bytes)
{
    size_t slots = 16;
    while (slots < bytes / TC_RTX_BYTES_PER_SLOT && slots < 32768)
        slots *= 2;
    return tc_rtx_buffer_create(slots, TC_MAX_PACKET, bytes);
}

static void init_stream(tc_leg *leg, const tc_leg_params *p, int i)
{
    tc_relay_stream *s = &leg->streams[i];
    const tc_sdp_media *m = &p->offer->media[i];
    memset(s, 0, sizeof *s);
    s->kind = m->kind;
    s->accepted = p->choices[i].accepted && p->choices[i].codec >= 0;
    s->pt = p->choices[i].pt;
    s->rtx_pt = p->choices[i].rtx >= 0 ? p->choices[i].rtx_pt : 0;
    s->clock_rate = p->choices[i].ref.clock_rate;
    s->in_ssrc = m->has_fid ? m->fid[0] : m->n_ssrcs ? m->ssrcs[0].ssrc : 0;
    s->in_rtx_ssrc = m->has_fid ? m->fid[1] : 0;
    s->out_ssrc = p->ssrc[i];
    s->out_rtx_ssrc = p->rtx_ssrc[i];
    if (s->accepted && s->kind == TC_SDP_VIDEO)
        s->sent = make_rtx_buffer((size_t)leg->sh->cfg->media_nack_buffer_kib * 1024);
}

static void set_streams(tc_leg *leg, const tc_leg_params *p)
{
    leg->n_streams = p->offer->n_media;
    for (int i = 0; i < p->offer->n_media; i++)
        init_stream(leg, p, i);
    learn_extmaps(leg, p);
}

/* A renegotiation: the streams that stay keep their sequence and timestamp
 * rewriting and their statistics; what the offer changed is taken. */
static void update_streams(tc_leg *leg, const tc_leg_params *p)
{
    for (int i = 0; i < p->offer->n_media; i++) {
        tc_relay_stream *s = &leg->streams[i];
        const tc_sdp_media *m = &p->offer->media[i];
        bool accepted = p->choices[i].accepted && p->choices[i].codec >= 0;
        if (i >= leg->n_streams || s->kind != m->kind || (accepted && !s->accepted)) {
            tc_rtx_buffer *old = i < leg->n_streams ? s->sent : NULL;
            init_stream(leg, p, i);
            tc_rtx_buffer_destroy(old);
            continue;
        }
        s->accepted = accepted;
        s->pt = p->choices[i].pt;
        s->rtx_pt = p->choices[i].rtx >= 0 ? p->choices[i].rtx_pt : 0;
        s->clock_rate = p->choices[i].ref.clock_rate;
        uint32_t in = m->has_fid ? m->fid[0] : m->n_ssrcs ? m->ssrcs[0].ssrc : 0;
        if (in) {
            s->in_ssrc = in;
            s->in_rtx_ssrc = m->has_fid ? m->fid[1] : 0;
        }
    }
    if (p->offer->n_media > leg->n_streams)
        leg->n_streams = p->offer->n_media;
    learn_extmaps(leg, p);
    if (leg->partner) {
        tc_leg_set_partner(leg, leg->partner); /* the id maps, both ways */
        tc_leg_set_partner(leg->partner, leg);
    }
}

/* The offer's BUNDLE transport: the m-line whose ICE and DTLS lines count. */
static const tc_sdp_media *transport_of(const tc_sdp *offer)
{
    int t = tc_sdp_transport_media(offer);
    return &offer->media[t >= 0 ? t : 0];
}

/* The candidates carried in the offer itself (tcptype kept: libnice needs it
 * for TCP, and a TCP candidate without one is left out). */
static void add_offer_candidates(tc_leg *leg, const tc_sdp_media *m0)
{
    for (int i = 0; i < m0->n_candidates; i++) {
        const tc_sdp_candidate *c = &m0->candidates[i];
        char line[256];
        if (c->mdns || c->component != 1 ||
            !tc_sdp_candidate_reachable(c, leg->sh->cfg->media_loopback) ||
            tc_sdp_write_candidate(c, line, sizeof line) < 0)
            continue;
        tc_leg_add_candidate(leg, line);
    }
    if (m0->end_of_candidates)
        tc_leg_candidates_done(leg);
}

/* Local and remote ICE credentials, and the offer's candidates. */
static void set_remote(tc_leg *leg, const tc_leg_params *p)
{
    const tc_sdp_media *m0 = transport_of(p->offer);
    nice_agent_set_local_credentials(leg->agent, leg->stream_id, p->ufrag, p->pwd);
    nice_agent_set_remote_credentials(leg->agent, leg->stream_id, m0->ice_ufrag, m0->ice_pwd);
    add_offer_candidates(leg, m0);
}

tc_leg *tc_leg_create(tc_worker *w, const tc_leg_params *p)
{
    tc_leg *leg = g_new0(tc_leg, 1);
    leg->worker = w;
    leg->sh = tc_worker_shared(w);
    leg->session_id = p->session_id;
    leg->side = p->side;
    leg->direct.fd = -1;
    leg->unsent_dtls = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    set_streams(leg, p);
    const tc_sdp_fingerprint *fp = &transport_of(p->offer)->fingerprint;
    leg->dtls = tc_dtls_create(leg->sh->dtls, fp->hash, true, dtls_send, leg);
    if (!leg->dtls || !make_agent(leg)) {
        tc_leg_destroy(leg);
        return NULL;
    }
    set_remote(leg, p);
    nice_agent_gather_candidates(leg->agent, leg->stream_id);
    tc_loop_epoll_resync(); /* new sockets: their numbers may be closed ones come back */
    leg->second_timer = every_ms(leg, 1000, on_second);
    if (p->side == TC_SIDE_CUSTOMER && leg->sh->cfg->media_hold_audio)
        leg->hold_timer = every_ms(leg, 20, on_hold_tick);
    leg->hold_seq = (uint16_t)g_random_int();
    leg->hold_ts = g_random_int();
    return leg;
}

void tc_leg_restart(tc_leg *leg, const tc_leg_params *p)
{
    tc_info("media %" G_GINT64_FORMAT "/%d: ICE restart", leg->session_id, leg->side);
    drop_direct(leg);
    nice_agent_restart_stream(leg->agent, leg->stream_id);
    tc_loop_epoll_resync();
    leg->ice_ready = false;
    set_remote(leg, p);
}

void tc_leg_renegotiate(tc_leg *leg, const tc_leg_params *p)
{
    tc_info("media %" G_GINT64_FORMAT "/%d: new offer, same ICE credentials: a renegotiation",
            leg->session_id, leg->side);
    update_streams(leg, p);
    add_offer_candidates(leg, transport_of(p->offer));
}

void tc_leg_destroy(tc_leg *leg)
{
    if (!leg)
        return;
    if (leg->partner)
        tc_leg_set_partner(leg->partner, NULL);
    cancel(&leg->dtls_timer);
    cancel(&leg->grace_timer);
    cancel(&leg->hold_timer);
    cancel(&leg->second_timer);
    drop_direct(leg); /* the socket closes with the agent */
    if (leg->agent) {
        nice_agent_attach_recv(leg->agent, leg->stream_id, 1, tc_worker_context(leg->worker), NULL,
                               NULL);
        g_signal_handlers_disconnect_by_data(leg->agent, leg);
        nice_agent_remove_stream(leg->agent, leg->stream_id);
        g_object_unref(leg->agent);
    }
    tc_dtls_destroy(leg->dtls);
    tc_srtp_destroy(leg->srtp);
    for (int i = 0; i < leg->n_streams; i++)
        tc_rtx_buffer_destroy(leg->streams[i].sent);
    if (leg->unsent_dtls)
        g_ptr_array_free(leg->unsent_dtls, TRUE);
    g_free(leg);
}

int tc_leg_add_candidate(tc_leg *leg, const char *candidate)
{
    gchar *line = g_strconcat("a=", candidate, NULL);
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(leg->agent, leg->stream_id, line);
    g_free(line);
    if (!c)
        return -EINVAL;
    GSList *list = g_slist_append(NULL, c);
    int added = nice_agent_set_remote_candidates(leg->agent, leg->stream_id, 1, list);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    return added > 0 ? 0 : -EINVAL;
}

void tc_leg_candidates_done(tc_leg *leg)
{
    nice_agent_peer_candidate_gathering_done(leg->agent, leg->stream_id);
}
