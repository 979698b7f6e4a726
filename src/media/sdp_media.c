/* sdp_media: the media-level attributes of an offer; see sdp.h. */
#include <errno.h>
#include <string.h>

#include "media/sdp_internal.h"

static tc_sdp_codec *find_codec(tc_sdp_media *m, tc_sv pt_text)
{
    uint32_t pt;
    if (tc_sv_u32(pt_text, 127, &pt) < 0)
        return NULL;
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

/* "<pt> <name>/<clock rate>[/<channels>]" */
static int parse_rtpmap(tc_sv v, tc_sdp_media *m)
{
    tc_sv pt = tc_sv_token(&v, ' ');
    tc_sv enc = tc_sv_trim(v);
    tc_sv name = tc_sv_token(&enc, '/');
    tc_sv rate = tc_sv_token(&enc, '/');
    tc_sv chans = tc_sv_token(&enc, '/');
    tc_sdp_codec *c = find_codec(m, pt);
    if (!c)
        return pt.len > 0 ? 0 : -EINVAL; /* not on this m-line: ignored */
    uint32_t clock, ch = 0;
    int rc = tc_sv_copy(name, c->name, sizeof c->name);
    if (rc == 0)
        rc = tc_sv_u32(rate, UINT32_MAX, &clock);
    if (rc == 0 && chans.len > 0)
        rc = tc_sv_u32(chans, 255, &ch);
    if (rc < 0 || enc.len > 0)
        return rc < 0 ? rc : -EINVAL;
    c->clock_rate = clock;
    c->channels = (uint8_t)ch;
    c->has_rtpmap = true;
    return 0;
}

static int hex6(tc_sv v, uint32_t *out)
{
    if (v.len != 6)
        return -EINVAL;
    uint32_t n = 0;
    for (size_t i = 0; i < 6; i++) {
        char ch = v.p[i];
        int d = (ch >= '0' && ch <= '9')   ? ch - '0'
                : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                           : -1;
        if (d < 0)
            return -EINVAL;
        n = n << 4 | (uint32_t)d;
    }
    *out = n;
    return 0;
}

/* The fmtp parameters the codec choice looks at; the raw string is kept
 * for the answer. Unknown or malformed parameters of other codecs are not
 * our business, so only these three are checked. */
static int fmtp_param(tc_sv key, tc_sv val, tc_sdp_codec *c)
{
    uint32_t n;
    if (tc_sv_eq(key, "apt")) {
        if (tc_sv_u32(val, 127, &n) < 0)
            return -EINVAL;
        c->apt = (int)n;
    } else if (tc_sv_eq(key, "packetization-mode")) {
        if (tc_sv_u32(val, 2, &n) < 0)
            return -EINVAL;
        c->packetization_mode = (int)n;
    } else if (tc_sv_eq(key, "profile-level-id")) {
        if (hex6(val, &c->profile_level_id) < 0)
            return -EINVAL;
        c->has_profile_level_id = true;
    }
    return 0;
}

/* "<pt> key=value;key=value" */
static int parse_fmtp(tc_sv v, tc_sdp_media *m)
{
    tc_sv pt = tc_sv_token(&v, ' ');
    tc_sv params = tc_sv_trim(v);
    tc_sdp_codec *c = find_codec(m, pt);
    if (!c)
        return pt.len > 0 ? 0 : -EINVAL;
    int rc = tc_sv_copy(params, c->fmtp, sizeof c->fmtp);
    if (rc < 0)
        return rc;
    for (tc_sv p = tc_sv_token(&params, ';'); p.len > 0; p = tc_sv_token(&params, ';')) {
        tc_sv val = tc_sv_trim(p);
        tc_sv key = tc_sv_token(&val, '=');
        tc_sv_skip_prefix(&val, "=");
        rc = fmtp_param(tc_sv_trim(key), tc_sv_trim(val), c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_fb(char list[][TC_SDP_FB_LEN + 1], uint8_t *n, tc_sv fb)
{
    if (*n == TC_SDP_MAX_RTCP_FB)
        return -E2BIG;
    int rc = tc_sv_copy(fb, list[*n], TC_SDP_FB_LEN + 1);
    if (rc == 0)
        (*n)++;
    return rc;
}

/* "<pt|*> <type> [<param>]" */
static int parse_rtcp_fb(tc_sv v, tc_sdp_media *m)
{
    tc_sv pt = tc_sv_token(&v, ' ');
    tc_sv fb = tc_sv_trim(v);
    if (tc_sv_eq(pt, "*"))
        return add_fb(m->fb_any, &m->n_fb_any, fb);
    tc_sdp_codec *c = find_codec(m, pt);
    if (!c)
        return pt.len > 0 ? 0 : -EINVAL;
    return add_fb(c->fb, &c->n_fb, fb);
}

static int parse_dir(tc_sv v, tc_sdp_dir *dir)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    for (unsigned i = 0; i < 4; i++) {
        if (tc_sv_eq(v, names[i])) {
            *dir = (tc_sdp_dir)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* "<id>[/<direction>] <uri> [<attributes>]" */
static int parse_extmap(tc_sv v, tc_sdp_media *m)
{
    if (m->n_extmaps == TC_SDP_MAX_EXTMAPS)
        return -E2BIG;
    tc_sdp_extmap *e = &m->extmaps[m->n_extmaps];
    tc_sv idd = tc_sv_token(&v, ' ');
    tc_sv uri = tc_sv_token(&v, ' ');
    tc_sv id = tc_sv_token(&idd, '/');
    tc_sv_skip_prefix(&idd, "/");
    uint32_t n;
    /* RFC 8285: 1..14 one-byte, up to 255 two-byte */
    if (tc_sv_u32(id, 255, &n) < 0 || n == 0)
        return -EINVAL;
    e->dir = TC_SDP_SENDRECV;
    if (idd.len > 0 && parse_dir(idd, &e->dir) < 0)
        return -EINVAL;
    int rc = tc_sv_copy(uri, e->uri, sizeof e->uri);
    if (rc < 0)
        return rc;
    e->id = (uint8_t)n;
    m->n_extmaps++;
    return 0;
}

static tc_sdp_ssrc *ssrc_entry(tc_sdp_media *m, uint32_t ssrc)
{
    for (unsigned i = 0; i < m->n_ssrcs; i++)
        if (m->ssrcs[i].ssrc == ssrc)
            return &m->ssrcs[i];
    if (m->n_ssrcs == TC_SDP_MAX_SSRCS)
        return NULL;
    tc_sdp_ssrc *s = &m->ssrcs[m->n_ssrcs++];
    s->ssrc = ssrc;
    return s;
}

/* "<ssrc> <attribute>[:<value>]": cname and msid are kept */
static int parse_ssrc(tc_sv v, tc_sdp_media *m)
{
    uint32_t id;
    if (tc_sv_u32(tc_sv_token(&v, ' '), UINT32_MAX, &id) < 0)
        return -EINVAL;
    tc_sdp_ssrc *s = ssrc_entry(m, id);
    if (!s)
        return -E2BIG;
    tc_sv value = tc_sv_trim(v);
    tc_sv attr = tc_sv_token(&value, ':');
    tc_sv_skip_prefix(&value, ":");
    if (tc_sv_eq(attr, "cname"))
        return tc_sv_copy(value, s->cname, sizeof s->cname);
    if (tc_sv_eq(attr, "msid"))
        return tc_sv_copy(value, s->msid, sizeof s->msid);
    return 0;
}

/* "FID <primary> <rtx>"; other semantics (SIM, FEC-FR) are not used */
static int parse_ssrc_group(tc_sv v, tc_sdp_media *m)
{
    if (!tc_sv_eq(tc_sv_token(&v, ' '), "FID"))
        return 0;
    uint32_t a, b;
    if (tc_sv_u32(tc_sv_token(&v, ' '), UINT32_MAX, &a) < 0 ||
        tc_sv_u32(tc_sv_token(&v, ' '), UINT32_MAX, &b) < 0)
        return -EINVAL;
    m->has_fid = true;
    m->fid[0] = a;
    m->fid[1] = b;
    return 0;
}

static int parse_candidate_attr(tc_sv name, tc_sv v, tc_sdp_media *m)
{
    if (m->n_candidates == TC_SDP_MAX_CANDIDATES)
        return -E2BIG;
    /* hand the whole "candidate:..." to the stand-alone parser */
    tc_sv whole = tc_sv_make(name.p, (size_t)(v.p + v.len - name.p));
    int rc = tc_sdp_parse_candidate(whole.p, whole.len, &m->candidates[m->n_candidates]);
    if (rc == -ENOTSUP)
        return 0; /* a transport we do not speak: skip the candidate */
    if (rc == 0)
        m->n_candidates++;
    return rc;
}

int tc_sdp_media_attr(tc_sv name, tc_sv v, tc_sdp *sdp, tc_sdp_media *m)
{
    if (tc_sv_eq(name, "mid"))
        return tc_sv_copy_token(tc_sv_trim(v), m->mid, sizeof m->mid);
    if (tc_sv_eq(name, "rtpmap"))
        return parse_rtpmap(v, m);
    if (tc_sv_eq(name, "fmtp"))
        return parse_fmtp(v, m);
    if (tc_sv_eq(name, "rtcp-fb"))
        return parse_rtcp_fb(v, m);
    if (tc_sv_eq(name, "extmap"))
        return parse_extmap(v, m);
    if (tc_sv_eq(name, "ssrc"))
        return parse_ssrc(v, m);
    if (tc_sv_eq(name, "ssrc-group"))
        return parse_ssrc_group(v, m);
    if (tc_sv_eq(name, "msid"))
        return tc_sv_copy(tc_sv_trim(v), m->msid, sizeof m->msid);
    if (tc_sv_eq(name, "candidate"))
        return parse_candidate_attr(name, v, m);
    if (tc_sv_eq(name, "rtcp-mux"))
        m->rtcp_mux = true;
    else if (tc_sv_eq(name, "rtcp-rsize"))
        m->rtcp_rsize = true;
    else if (tc_sv_eq(name, "end-of-candidates"))
        m->end_of_candidates = true;
    else if (tc_sv_eq(name, "bundle-only"))
        m->bundle_only = true;
    else if (tc_sv_eq(name, "extmap-allow-mixed"))
        sdp->extmap_allow_mixed = true;
    else
        (void)parse_dir(name, &m->dir); /* a direction, or an attribute we skip */
    return 0;
}
