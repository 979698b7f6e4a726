/* sdp_parse: SDP text -> tc_sdp; see sdp.h for what is kept and the limits.
 * Candidates are parsed in sdp_cand.c, fingerprints in sdp_util.c. */
#include <errno.h>
#include <string.h>

#include "media/sdp_internal.h"

/* The ICE/DTLS attributes that may sit at session or media level. */
typedef struct {
    char *ufrag;
    char *pwd;
    bool *trickle;
    tc_sdp_fingerprint *fp;
    tc_sdp_setup *setup;
} transport_attrs;

static int parse_setup(tc_sv v, tc_sdp_setup *out)
{
    static const char *const names[] = {"actpass", "active", "passive", "holdconn"};
    for (unsigned i = 0; i < 4; i++) {
        if (tc_sv_eq(v, names[i])) {
            *out = (tc_sdp_setup)(TC_SDP_SETUP_ACTPASS + i);
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_ice_options(tc_sv v, bool *trickle)
{
    for (tc_sv t = tc_sv_token(&v, ' '); t.len > 0; t = tc_sv_token(&v, ' '))
        if (tc_sv_eq(t, "trickle"))
            *trickle = true;
    return 0;
}

/* Handles name if it is a transport attribute: returns true and sets *rc. */
static bool transport_attr(tc_sv name, tc_sv v, const transport_attrs *t, int *rc)
{
    if (tc_sv_eq(name, "ice-ufrag"))
        *rc = tc_sv_copy_token(tc_sv_trim(v), t->ufrag, TC_SDP_ICE_LEN + 1);
    else if (tc_sv_eq(name, "ice-pwd"))
        *rc = tc_sv_copy_token(tc_sv_trim(v), t->pwd, TC_SDP_ICE_LEN + 1);
    else if (tc_sv_eq(name, "ice-options"))
        *rc = parse_ice_options(v, t->trickle);
    else if (tc_sv_eq(name, "fingerprint"))
        *rc = tc_sdp_parse_fingerprint(v, t->fp);
    else if (tc_sv_eq(name, "setup"))
        *rc = parse_setup(tc_sv_trim(v), t->setup);
    else
        return false;
    return true;
}

static int parse_group(tc_sv v, tc_sdp *sdp)
{
    tc_sv sem = tc_sv_token(&v, ' ');
    if (!tc_sv_eq(sem, "BUNDLE") || sdp->has_bundle)
        return 0; /* other semantics, or a second group: not ours */
    sdp->has_bundle = true;
    for (tc_sv m = tc_sv_token(&v, ' '); m.len > 0; m = tc_sv_token(&v, ' ')) {
        if (sdp->n_bundle == TC_SDP_MAX_MEDIA)
            return -E2BIG;
        int rc = tc_sv_copy(m, sdp->bundle[sdp->n_bundle], TC_SDP_ID_LEN + 1);
        if (rc < 0)
            return rc;
        sdp->n_bundle++;
    }
    return 0;
}

static int session_attr(tc_sv name, tc_sv v, tc_sdp *sdp)
{
    transport_attrs t = {sdp->ice_ufrag, sdp->ice_pwd, &sdp->ice_trickle, &sdp->fingerprint,
                         &sdp->setup};
    int rc;
    if (transport_attr(name, v, &t, &rc))
        return rc;
    if (tc_sv_eq(name, "group"))
        return parse_group(v, sdp);
    if (tc_sv_eq(name, "extmap-allow-mixed"))
        sdp->extmap_allow_mixed = true;
    return 0;
}

static tc_sdp_kind kind_of(tc_sv k)
{
    if (tc_sv_eq(k, "audio"))
        return TC_SDP_AUDIO;
    if (tc_sv_eq(k, "video"))
        return TC_SDP_VIDEO;
    if (tc_sv_eq(k, "application"))
        return TC_SDP_APPLICATION;
    return TC_SDP_OTHER;
}

static int add_format(tc_sdp_media *m, tc_sv f, bool rtp)
{
    if (!rtp) {
        /* a data channel: "webrtc-datachannel", or an SCTP port number */
        if (m->format[0] == '\0')
            return tc_sv_copy(f, m->format, sizeof m->format);
        return 0;
    }
    uint32_t pt;
    if (tc_sv_u32(f, 127, &pt) < 0)
        return -EINVAL;
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt)
            return 0;
    if (m->n_codecs == TC_SDP_MAX_CODECS)
        return -E2BIG;
    tc_sdp_codec *c = &m->codecs[m->n_codecs++];
    c->pt = (uint8_t)pt;
    c->apt = -1;
    c->packetization_mode = -1;
    return 0;
}

static int parse_mline(tc_sv v, tc_sdp *sdp)
{
    if (sdp->n_media == TC_SDP_MAX_MEDIA)
        return -E2BIG;
    tc_sdp_media *m = &sdp->media[sdp->n_media++];
    tc_sv kind = tc_sv_token(&v, ' ');
    tc_sv port = tc_sv_token(&v, ' ');
    tc_sv proto = tc_sv_token(&v, ' ');
    tc_sv nports = port;
    port = tc_sv_token(&nports, '/'); /* "port/number-of-ports" */
    uint32_t n;
    int rc = tc_sv_copy(kind, m->kind_name, sizeof m->kind_name);
    if (rc == 0)
        rc = tc_sv_u32(port, 65535, &n);
    if (rc == 0)
        rc = tc_sv_copy(proto, m->proto, sizeof m->proto);
    if (rc < 0)
        return rc;
    m->kind = kind_of(kind);
    m->port = (uint16_t)n;
    bool rtp = strstr(m->proto, "RTP") != NULL;
    tc_sv f = tc_sv_token(&v, ' ');
    if (f.len == 0)
        return -EINVAL; /* RFC 8866 5.14: at least one format */
    for (; f.len > 0; f = tc_sv_token(&v, ' ')) {
        rc = add_format(m, f, rtp);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* "a=name:value" or "a=name" */
static int parse_attr(tc_sv line, tc_sdp *sdp)
{
    tc_sv name = tc_sv_token(&line, ':');
    tc_sv value = line;
    tc_sv_skip_prefix(&value, ":");
    if (sdp->n_media == 0)
        return session_attr(name, value, sdp);
    tc_sdp_media *m = &sdp->media[sdp->n_media - 1];
    transport_attrs t = {m->ice_ufrag, m->ice_pwd, &m->ice_trickle, &m->fingerprint, &m->setup};
    int rc;
    if (transport_attr(name, value, &t, &rc))
        return rc;
    return tc_sdp_media_attr(name, value, sdp, m);
}

static int parse_line(tc_sv line, bool first, tc_sdp *sdp)
{
    if (!tc_sv_printable(line))
        return -EINVAL;
    if (first)
        return tc_sv_eq(line, "v=0") ? 0 : -EINVAL;
    if (line.len < 2 || line.p[1] != '=')
        return -EINVAL;
    tc_sv body = tc_sv_make(line.p + 2, line.len - 2);
    switch (line.p[0]) {
    case 'm':
        return parse_mline(body, sdp);
    case 'a':
        return parse_attr(body, sdp);
    default:
        return 0; /* o= s= t= c= b= and friends: nothing the relay needs */
    }
}

/* A bundle-only m-line may carry no ICE or DTLS lines (JSEP 5.2.1): it uses
 * the group's transport, so it takes that m-line's. */
static void inherit_bundle(tc_sdp *sdp)
{
    int t = tc_sdp_transport_media(sdp);
    if (t < 0)
        return;
    const tc_sdp_media *from = &sdp->media[t];
    for (unsigned i = 0; i < sdp->n_media; i++) {
        tc_sdp_media *m = &sdp->media[i];
        if (!m->bundle_only || !tc_sdp_media_live(sdp, i))
            continue;
        if (m->ice_ufrag[0] == '\0' || m->ice_pwd[0] == '\0') {
            memcpy(m->ice_ufrag, from->ice_ufrag, sizeof m->ice_ufrag);
            memcpy(m->ice_pwd, from->ice_pwd, sizeof m->ice_pwd);
        }
        if (!m->fingerprint.present)
            m->fingerprint = from->fingerprint;
        if (m->setup == TC_SDP_SETUP_NONE)
            m->setup = from->setup;
    }
}

/* Media lines inherit the session's ICE and DTLS attributes they lack. */
static void inherit(tc_sdp *sdp)
{
    for (unsigned i = 0; i < sdp->n_media; i++) {
        tc_sdp_media *m = &sdp->media[i];
        if (m->ice_ufrag[0] == '\0')
            memcpy(m->ice_ufrag, sdp->ice_ufrag, sizeof m->ice_ufrag);
        if (m->ice_pwd[0] == '\0')
            memcpy(m->ice_pwd, sdp->ice_pwd, sizeof m->ice_pwd);
        if (!m->fingerprint.present)
            m->fingerprint = sdp->fingerprint;
        if (m->setup == TC_SDP_SETUP_NONE)
            m->setup = sdp->setup;
        m->ice_trickle = m->ice_trickle || sdp->ice_trickle;
    }
    inherit_bundle(sdp);
}

int tc_sdp_parse(const char *s, size_t len, tc_sdp *out)
{
    if (len > TC_SDP_MAX_LEN)
        return -E2BIG;
    memset(out, 0, sizeof *out);
    tc_sv rest = tc_sv_make(s, len);
    bool first = true;
    while (rest.len > 0) {
        const char *nl = memchr(rest.p, '\n', rest.len);
        size_t n = nl ? (size_t)(nl - rest.p) : rest.len;
        tc_sv line = tc_sv_make(rest.p, n);
        rest.p += nl ? n + 1 : n;
        rest.len -= nl ? n + 1 : n;
        if (line.len > 0 && line.p[line.len - 1] == '\r')
            line.len--;
        if (line.len == 0)
            continue;
        int rc = parse_line(line, first, out);
        if (rc < 0)
            return rc;
        first = false;
    }
    if (first)
        return -EINVAL; /* empty */
    inherit(out);
    return 0;
}
