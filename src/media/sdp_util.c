/* sdp_util: string views and small value parsers for the SDP code. */
#include <errno.h>
#include <string.h>

#include "media/sdp_internal.h"

tc_sv tc_sv_make(const char *p, size_t len)
{
    tc_sv v = {p, len};
    return v;
}

tc_sv tc_sv_token(tc_sv *rest, char sep)
{
    size_t i = 0;
    while (i < rest->len && rest->p[i] == sep)
        i++;
    size_t start = i;
    while (i < rest->len && rest->p[i] != sep)
        i++;
    tc_sv tok = {rest->p + start, i - start};
    rest->p += i;
    rest->len -= i;
    return tok;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

tc_sv tc_sv_trim(tc_sv v)
{
    while (v.len > 0 && is_blank(v.p[0])) {
        v.p++;
        v.len--;
    }
    while (v.len > 0 && is_blank(v.p[v.len - 1]))
        v.len--;
    return v;
}

bool tc_sv_eq(tc_sv v, const char *s)
{
    size_t n = strlen(s);
    return v.len == n && memcmp(v.p, s, n) == 0;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool tc_sv_ieq(tc_sv v, const char *s)
{
    size_t n = strlen(s);
    if (v.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(v.p[i]) != lower(s[i]))
            return false;
    return true;
}

bool tc_sdp_ieq(const char *a, const char *b)
{
    return tc_sv_ieq(tc_sv_make(a, strlen(a)), b);
}

bool tc_sv_skip_prefix(tc_sv *v, const char *prefix)
{
    size_t n = strlen(prefix);
    if (v->len < n || memcmp(v->p, prefix, n) != 0)
        return false;
    v->p += n;
    v->len -= n;
    return true;
}

int tc_sv_copy(tc_sv v, char *dst, size_t cap)
{
    if (v.len == 0)
        return -EINVAL;
    if (v.len >= cap)
        return -E2BIG;
    memcpy(dst, v.p, v.len);
    dst[v.len] = '\0';
    return 0;
}

int tc_sv_copy_token(tc_sv v, char *dst, size_t cap)
{
    if (memchr(v.p, ' ', v.len) || memchr(v.p, '\t', v.len))
        return -EINVAL;
    return tc_sv_copy(v, dst, cap);
}

int tc_sv_u32(tc_sv v, uint32_t max, uint32_t *out)
{
    if (v.len == 0 || v.len > 10)
        return -EINVAL;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -EINVAL;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    if (n > max)
        return -EINVAL;
    *out = (uint32_t)n;
    return 0;
}

bool tc_sv_printable(tc_sv v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return false;
    }
    return true;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int parse_hash(tc_sv hex, tc_sdp_fingerprint *fp)
{
    /* "AB:CD:...": two hex digits per byte, a colon between bytes */
    if (hex.len == 0 || (hex.len + 1) % 3 != 0)
        return -EINVAL;
    size_t n = (hex.len + 1) / 3;
    if (n > TC_SDP_FP_MAX)
        return -E2BIG;
    for (size_t i = 0; i < n; i++) {
        const char *h = hex.p + i * 3;
        int hi = hex_val(h[0]), lo = hex_val(h[1]);
        if (hi < 0 || lo < 0 || (i + 1 < n && h[2] != ':'))
            return -EINVAL;
        fp->hash[i] = (uint8_t)(hi << 4 | lo);
    }
    fp->len = (uint8_t)n;
    return 0;
}

int tc_sdp_parse_fingerprint(tc_sv value, tc_sdp_fingerprint *fp)
{
    tc_sv algo = tc_sv_token(&value, ' ');
    tc_sv hex = tc_sv_trim(value);
    tc_sdp_fingerprint f;
    memset(&f, 0, sizeof f);
    int rc = tc_sv_copy(algo, f.algo, sizeof f.algo);
    if (rc < 0)
        return rc;
    for (char *c = f.algo; *c; c++)
        *c = lower(*c);
    rc = parse_hash(hex, &f);
    if (rc < 0)
        return rc;
    bool sha256 = strcmp(f.algo, "sha-256") == 0;
    if (sha256 && f.len != 32)
        return -EINVAL;
    /* several fingerprints may be offered; the relay verifies sha-256, so a
     * sha-256 one already kept wins over any other */
    if (fp->present && strcmp(fp->algo, "sha-256") == 0 && !sha256)
        return 0;
    f.present = true;
    *fp = f;
    return 0;
}
