/* sdp_select: is the offer usable by the relay, and which codec each m-line
 * gets; see sdp.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "media/sdp_internal.h"

static const char *const default_extmaps[] = {
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
};

const char *const *tc_sdp_default_extmaps(size_t *n)
{
    *n = sizeof default_extmaps / sizeof default_extmaps[0];
    return default_extmaps;
}

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t why_len, const char *fmt,
                                                      ...)
{
    if (why && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool in_bundle(const tc_sdp *sdp, const char *mid)
{
    for (unsigned i = 0; i < sdp->n_bundle; i++)
        if (strcmp(sdp->bundle[i], mid) == 0)
            return true;
    return false;
}

static bool is_rtp_kind(tc_sdp_kind k)
{
    return k == TC_SDP_AUDIO || k == TC_SDP_VIDEO;
}

bool tc_sdp_media_live(const tc_sdp *sdp, unsigned i)
{
    const tc_sdp_media *m = &sdp->media[i];
    if (m->port != 0)
        return true;
    return m->bundle_only && m->mid[0] != '\0' && in_bundle(sdp, m->mid);
}

static bool has_ice(const tc_sdp_media *m)
{
    return m->ice_ufrag[0] != '\0' && m->ice_pwd[0] != '\0';
}

int tc_sdp_transport_media(const tc_sdp *sdp)
{
    for (unsigned b = 0; b < sdp->n_bundle; b++)
        for (unsigned i = 0; i < sdp->n_media; i++)
            if (strcmp(sdp->media[i].mid, sdp->bundle[b]) == 0 && tc_sdp_media_live(sdp, i) &&
                has_ice(&sdp->media[i]))
                return (int)i;
    for (unsigned i = 0; i < sdp->n_media; i++)
        if (tc_sdp_media_live(sdp, i) && has_ice(&sdp->media[i]))
            return (int)i;
    return -1;
}

static int check_media(const tc_sdp *sdp, unsigned i, char *why, size_t why_len)
{
    const tc_sdp_media *m = &sdp->media[i];
    if (m->mid[0] == '\0')
        return fail(why, why_len, "m-line %u (%s) has no a=mid", i, m->kind_name);
    for (unsigned j = 0; j < i; j++)
        if (strcmp(sdp->media[j].mid, m->mid) == 0)
            return fail(why, why_len, "m-line %u reuses mid %s", i, m->mid);
    if (!in_bundle(sdp, m->mid))
        return fail(why, why_len, "m-line %u (mid %s) is not in the BUNDLE group", i, m->mid);
    if (is_rtp_kind(m->kind) && !m->rtcp_mux)
        return fail(why, why_len, "m-line %u (mid %s) has no a=rtcp-mux", i, m->mid);
    if (!m->fingerprint.present || strcmp(m->fingerprint.algo, "sha-256") != 0)
        return fail(why, why_len, "m-line %u (mid %s) has no sha-256 fingerprint", i, m->mid);
    if (m->ice_ufrag[0] == '\0' || m->ice_pwd[0] == '\0')
        return fail(why, why_len, "m-line %u (mid %s) has no ICE ufrag/pwd", i, m->mid);
    return 0;
}

int tc_sdp_check_webrtc(const tc_sdp *offer, char *why, size_t why_len)
{
    if (offer->n_media == 0)
        return fail(why, why_len, "no m-lines");
    if (!offer->has_bundle)
        return fail(why, why_len, "no a=group:BUNDLE");
    unsigned live = 0;
    for (unsigned i = 0; i < offer->n_media; i++) {
        if (!tc_sdp_media_live(offer, i))
            continue; /* rejected by the offerer: no transport to check */
        int rc = check_media(offer, i, why, why_len);
        if (rc < 0)
            return rc;
        live++;
    }
    if (live == 0)
        return fail(why, why_len, "every m-line has port 0");
    return 0;
}

/* H264 variants differ in ways that matter to a receiver: packetization
 * mode 1 (FU-A, STAP-A) is what every browser sends best, and constrained
 * baseline 3.1 (42e01f) is the profile every browser decodes. */
static int h264_score(const tc_sdp_codec *c)
{
    int score = 0;
    if (c->packetization_mode == 1)
        score += 4;
    if (c->has_profile_level_id && c->profile_level_id == 0x42e01f)
        score += 2;
    else if (c->has_profile_level_id && (c->profile_level_id >> 8) == 0x42e0)
        score += 1;
    return score;
}

static bool codec_ok(const tc_sdp_codec *c, tc_sv name, const tc_sdp_codec_ref *constraint)
{
    if (!c->has_rtpmap || !tc_sv_ieq(name, c->name))
        return false;
    if (constraint &&
        (!tc_sdp_ieq(c->name, constraint->name) || c->clock_rate != constraint->clock_rate))
        return false;
    return true;
}

/* Index of the best codec named name on m, or -1. */
static int best_named(const tc_sdp_media *m, tc_sv name, const tc_sdp_codec_ref *constraint)
{
    int best = -1, best_score = -1;
    for (unsigned i = 0; i < m->n_codecs; i++) {
        const tc_sdp_codec *c = &m->codecs[i];
        if (!codec_ok(c, name, constraint))
            continue;
        int score = tc_sdp_ieq(c->name, "H264") ? h264_score(c) : 0;
        if (score > best_score) {
            best = (int)i;
            best_score = score;
        }
    }
    return best;
}

static int pick_codec(const tc_sdp_media *m, const char *prefs, const tc_sdp_codec_ref *constraint)
{
    /* with a constraint there is exactly one acceptable name: the other
     * leg's codec; the preference list has already been applied there */
    if (constraint)
        return best_named(m, tc_sv_make(constraint->name, strlen(constraint->name)), constraint);
    if (!prefs)
        return -1;
    tc_sv list = tc_sv_make(prefs, strlen(prefs));
    for (tc_sv n = tc_sv_token(&list, ','); n.len > 0; n = tc_sv_token(&list, ',')) {
        int i = best_named(m, tc_sv_trim(n), NULL);
        if (i >= 0)
            return i;
    }
    return -1;
}

static int find_rtx(const tc_sdp_media *m, uint8_t pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (tc_sdp_ieq(m->codecs[i].name, "rtx") && m->codecs[i].apt == pt)
            return (int)i;
    return -1;
}

static int select_media(const tc_sdp_media *m, const tc_sdp_prefs *prefs, tc_sdp_choice *ch)
{
    bool video = m->kind == TC_SDP_VIDEO;
    int i = pick_codec(m, video ? prefs->video : prefs->audio,
                       video ? prefs->video_constraint : prefs->audio_constraint);
    if (i < 0)
        return -EINVAL;
    const tc_sdp_codec *c = &m->codecs[i];
    ch->accepted = true;
    ch->codec = i;
    ch->pt = c->pt;
    memcpy(ch->ref.name, c->name, sizeof ch->ref.name);
    ch->ref.clock_rate = c->clock_rate;
    ch->rtx = find_rtx(m, c->pt);
    if (ch->rtx >= 0)
        ch->rtx_pt = m->codecs[ch->rtx].pt;
    return 0;
}

int tc_sdp_select(const tc_sdp *offer, const tc_sdp_prefs *prefs,
                  tc_sdp_choice choices[TC_SDP_MAX_MEDIA], char *why, size_t why_len)
{
    for (unsigned i = 0; i < TC_SDP_MAX_MEDIA; i++) {
        memset(&choices[i], 0, sizeof choices[i]);
        choices[i].codec = choices[i].rtx = -1;
    }
    unsigned accepted = 0, no_codec = 0;
    int first_no_codec = -1;
    for (unsigned i = 0; i < offer->n_media; i++) {
        const tc_sdp_media *m = &offer->media[i];
        /* without a mid an m-line cannot join the BUNDLE group the relay
         * needs, so it is answered as rejected */
        if (!tc_sdp_media_live(offer, i) || !is_rtp_kind(m->kind) || m->mid[0] == '\0')
            continue;
        if (select_media(m, prefs, &choices[i]) == 0) {
            accepted++;
        } else {
            /* this m-line alone is answered with port 0; the rest stands */
            choices[i].no_codec = true;
            no_codec++;
            if (first_no_codec < 0)
                first_no_codec = (int)i;
        }
    }
    if (accepted > 0)
        return 0;
    if (no_codec > 0)
        return fail(why, why_len, "m-line %d (%s): no common codec", first_no_codec,
                    offer->media[first_no_codec].kind_name);
    return fail(why, why_len, "no audio or video m-line to accept");
}

static bool wanted_extmap(const tc_sdp_prefs *prefs, const char *uri)
{
    size_t n = prefs ? prefs->n_extmaps : 0;
    const char *const *list = prefs ? prefs->extmaps : NULL;
    if (!list)
        list = tc_sdp_default_extmaps(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], uri) == 0)
            return true;
    return false;
}

bool tc_sdp_extmap_kept(const tc_sdp *offer, const tc_sdp_choice choices[TC_SDP_MAX_MEDIA],
                        const tc_sdp_prefs *prefs, unsigned m, unsigned e)
{
    if (m >= offer->n_media || m >= TC_SDP_MAX_MEDIA || e >= offer->media[m].n_extmaps ||
        !choices[m].accepted)
        return false;
    const tc_sdp_extmap *x = &offer->media[m].extmaps[e];
    if (!wanted_extmap(prefs, x->uri))
        return false;
    /* the id's first use among what the answer would echo decides */
    for (unsigned i = 0; i <= m; i++) {
        if (!choices[i].accepted)
            continue;
        const tc_sdp_media *earlier = &offer->media[i];
        unsigned end = i == m ? e : earlier->n_extmaps;
        for (unsigned k = 0; k < end; k++) {
            const tc_sdp_extmap *y = &earlier->extmaps[k];
            if (y->id == x->id && wanted_extmap(prefs, y->uri))
                return strcmp(y->uri, x->uri) == 0;
        }
    }
    return true;
}
