/*
 * sdp_reach.c: which remote candidates the relay may check (see sdp.h). Pure.
 */
#include "telecounter/sdp.h"

#include <arpa/inet.h>
#include <string.h>

static bool ipv4_ok(const uint8_t a[4], bool allow_local)
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    if (v == 0 || v == 0xffffffffu) /* unspecified, limited broadcast */
        return false;
    if (a[0] == 0 || (a[0] & 0xf0) == 0xe0 || (a[0] & 0xf0) == 0xf0) /* 0/8, multicast, 240/4 */
        return false;
    if (a[0] == 127 || (a[0] == 169 && a[1] == 254)) /* loopback, link-local */
        return allow_local;
    return true;
}

static bool ipv6_ok(const uint8_t a[16], bool allow_local)
{
    static const uint8_t zero[16], loop[16] = {[15] = 1};
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (memcmp(a, zero, 16) == 0 || a[0] == 0xff) /* unspecified, multicast */
        return false;
    if (memcmp(a, mapped, 12) == 0) /* ::ffff:a.b.c.d: the IPv4 rules */
        return ipv4_ok(a + 12, allow_local);
    if (memcmp(a, loop, 16) == 0 || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
        return allow_local; /* loopback, link-local fe80::/10 */
    return true;
}

bool tc_sdp_candidate_reachable(const tc_sdp_candidate *c, bool allow_local)
{
    if (!c || c->mdns || c->port == 0)
        return false;
    uint8_t a[16];
    if (inet_pton(AF_INET, c->address, a) == 1)
        return ipv4_ok(a, allow_local);
    if (inet_pton(AF_INET6, c->address, a) == 1) /* a zone ("%eth0") fails here: refused */
        return ipv6_ok(a, allow_local);
    return false; /* not an IP literal: the relay resolves no names */
}
