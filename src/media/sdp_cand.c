/* sdp_cand: one ICE candidate line (RFC 8839 section 5.1), from an offer or
 * trickled alone:
 *
 *   candidate:<foundation> <component> <udp|tcp> <priority> <address> <port>
 *             typ <host|srflx|prflx|relay> [raddr <a>] [rport <p>]
 *             [tcptype <active|passive|so>] [<extension name> <value>]...
 */
#include <errno.h>
#include <string.h>

#include "media/sdp_internal.h"

static bool ends_with_local(const char *addr)
{
    size_t n = strlen(addr);
    return n > 6 && tc_sdp_ieq(addr + n - 6, ".local");
}

static int parse_type(tc_sv v, tc_sdp_cand_type *out)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    for (unsigned i = 0; i < 4; i++) {
        if (tc_sv_eq(v, names[i])) {
            *out = (tc_sdp_cand_type)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_tcptype(tc_sv v, tc_sdp_tcptype *out)
{
    if (tc_sv_eq(v, "active"))
        *out = TC_SDP_TCP_ACTIVE;
    else if (tc_sv_eq(v, "passive"))
        *out = TC_SDP_TCP_PASSIVE;
    else if (tc_sv_eq(v, "so"))
        *out = TC_SDP_TCP_SO;
    else
        return -EINVAL;
    return 0;
}

static int parse_transport(tc_sv v, tc_sdp_transport *out)
{
    if (tc_sv_ieq(v, "udp"))
        *out = TC_SDP_UDP;
    else if (tc_sv_ieq(v, "tcp"))
        *out = TC_SDP_TCP;
    else
        return v.len > 0 ? -ENOTSUP : -EINVAL;
    return 0;
}

/* The six positional fields before "typ". */
static int parse_fixed(tc_sv *rest, tc_sdp_candidate *c)
{
    uint32_t comp, port;
    int rc = tc_sv_copy(tc_sv_token(rest, ' '), c->foundation, sizeof c->foundation);
    if (rc == 0)
        rc = tc_sv_u32(tc_sv_token(rest, ' '), 256, &comp);
    if (rc == 0 && comp == 0)
        rc = -EINVAL;
    if (rc == 0)
        rc = parse_transport(tc_sv_token(rest, ' '), &c->transport);
    if (rc == 0)
        rc = tc_sv_u32(tc_sv_token(rest, ' '), UINT32_MAX, &c->priority);
    if (rc == 0)
        rc = tc_sv_copy(tc_sv_token(rest, ' '), c->address, sizeof c->address);
    if (rc == 0)
        rc = tc_sv_u32(tc_sv_token(rest, ' '), 65535, &port);
    if (rc < 0)
        return rc;
    c->component = (uint16_t)comp;
    c->port = (uint16_t)port;
    return 0;
}

static int parse_pair(tc_sv key, tc_sv val, tc_sdp_candidate *c)
{
    uint32_t n;
    if (val.len == 0)
        return -EINVAL; /* every extension is a name and a value */
    if (tc_sv_eq(key, "raddr")) {
        c->has_raddr = true;
        return tc_sv_copy(val, c->raddr, sizeof c->raddr);
    }
    if (tc_sv_eq(key, "rport")) {
        if (tc_sv_u32(val, 65535, &n) < 0)
            return -EINVAL;
        c->rport = (uint16_t)n;
        return 0;
    }
    if (tc_sv_eq(key, "tcptype"))
        return parse_tcptype(val, &c->tcptype);
    return 0;
}

int tc_sdp_parse_candidate(const char *s, size_t len, tc_sdp_candidate *out)
{
    tc_sv v = tc_sv_make(s, len);
    while (v.len > 0 && (v.p[v.len - 1] == '\n' || v.p[v.len - 1] == '\r'))
        v.len--;
    if (!tc_sv_printable(v))
        return -EINVAL;
    tc_sv_skip_prefix(&v, "a=");
    if (!tc_sv_skip_prefix(&v, "candidate:"))
        return -EINVAL;
    memset(out, 0, sizeof *out);
    int rc = parse_fixed(&v, out);
    if (rc < 0)
        return rc;
    if (!tc_sv_eq(tc_sv_token(&v, ' '), "typ"))
        return -EINVAL;
    rc = parse_type(tc_sv_token(&v, ' '), &out->type);
    for (tc_sv key = tc_sv_token(&v, ' '); rc == 0 && key.len > 0; key = tc_sv_token(&v, ' '))
        rc = parse_pair(key, tc_sv_token(&v, ' '), out);
    if (rc < 0)
        return rc;
    out->mdns = ends_with_local(out->address);
    return 0;
}
