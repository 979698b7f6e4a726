/*
 * srtp.c: libsrtp2 behind four calls. Outbound allows repeated sequence
 * numbers, so that a packet served again from the retransmission buffer can be
 * protected a second time.
 */
#include "telecounter/srtp.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

struct tc_srtp {
    srtp_t in, out;
};

int tc_srtp_init(void)
{
    /* libsrtp2's crypto kernel is process-wide; without it no session can be made. */
    static gsize done = 0;
    static int rc = 0;
    if (g_once_init_enter(&done)) {
        rc = srtp_init() == srtp_err_status_ok ? 0 : -EIO;
        g_once_init_leave(&done, 1);
    }
    return rc;
}

size_t tc_srtp_key_len(tc_srtp_profile p)
{
    return p == TC_SRTP_AES128_CM_SHA1_80 || p == TC_SRTP_AEAD_AES_128_GCM ? 16 : 0;
}

size_t tc_srtp_salt_len(tc_srtp_profile p)
{
    return p == TC_SRTP_AES128_CM_SHA1_80 ? 14 : p == TC_SRTP_AEAD_AES_128_GCM ? 12 : 0;
}

const char *tc_srtp_profile_name(tc_srtp_profile p)
{
    return p == TC_SRTP_AES128_CM_SHA1_80  ? "SRTP_AES128_CM_SHA1_80"
           : p == TC_SRTP_AEAD_AES_128_GCM ? "SRTP_AEAD_AES_128_GCM"
                                           : "unknown";
}

static int make_session(srtp_t *session, tc_srtp_profile p, const uint8_t *key_salt, bool outbound)
{
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    if (p == TC_SRTP_AES128_CM_SHA1_80) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    }
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = (unsigned char *)key_salt;
    policy.window_size = 1024; /* video bursts reorder; the default 128 drops too much */
    policy.allow_repeat_tx = outbound;
    return srtp_create(session, &policy) == srtp_err_status_ok ? 0 : -EINVAL;
}

tc_srtp *tc_srtp_create(tc_srtp_profile p, const uint8_t *local_key_salt,
                        const uint8_t *remote_key_salt)
{
    if (!tc_srtp_key_len(p))
        return NULL;
    tc_srtp *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (make_session(&s->out, p, local_key_salt, true) != 0 ||
        make_session(&s->in, p, remote_key_salt, false) != 0) {
        tc_srtp_destroy(s);
        return NULL;
    }
    return s;
}

void tc_srtp_destroy(tc_srtp *s)
{
    if (!s)
        return;
    if (s->in)
        srtp_dealloc(s->in);
    if (s->out)
        srtp_dealloc(s->out);
    free(s);
}

static int map_status(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
        return -EACCES;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return -EEXIST;
    default:
        return -EINVAL;
    }
}

int tc_srtp_unprotect_rtp(tc_srtp *s, uint8_t *buf, size_t *len)
{
    int n = (int)*len;
    int rc = map_status(srtp_unprotect(s->in, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

int tc_srtp_unprotect_rtcp(tc_srtp *s, uint8_t *buf, size_t *len)
{
    int n = (int)*len;
    int rc = map_status(srtp_unprotect_rtcp(s->in, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

int tc_srtp_protect_rtp(tc_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (*len + TC_SRTP_MAX_TRAILER > cap)
        return -ENOSPC;
    int n = (int)*len;
    int rc = map_status(srtp_protect(s->out, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}

int tc_srtp_protect_rtcp(tc_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (*len + TC_SRTP_MAX_TRAILER > cap)
        return -ENOSPC;
    int n = (int)*len;
    int rc = map_status(srtp_protect_rtcp(s->out, buf, &n));
    if (rc == 0)
        *len = (size_t)n;
    return rc;
}
