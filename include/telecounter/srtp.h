/*
 * srtp: SRTP and SRTCP for one leg (libsrtp2), one inbound and one outbound
 * context keyed from the DTLS handshake (RFC 5764). Protect and unprotect work
 * in place; protect needs TC_SRTP_MAX_TRAILER spare bytes after the packet.
 *
 * Thread: a tc_srtp belongs to the worker that owns its leg. tc_srtp_init must
 * have run before the first tc_srtp_create (tc_media_create calls it; calling
 * it again does nothing).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define TC_SRTP_MAX_TRAILER 148 /* SRTP_MAX_TRAILER_LEN: tag + MKI + SRTCP index */
#define TC_SRTP_MAX_KEY_SALT 46 /* 32-byte key + 14-byte salt, the largest profile */

typedef enum tc_srtp_profile {
    TC_SRTP_AES128_CM_SHA1_80 = 0x0001, /* RFC 5764 */
    TC_SRTP_AEAD_AES_128_GCM = 0x0007,  /* RFC 7714 */
} tc_srtp_profile;

typedef struct tc_srtp tc_srtp;

int tc_srtp_init(void);
/* Key and salt lengths of a profile; 0 for an unknown one. */
size_t tc_srtp_key_len(tc_srtp_profile p);
size_t tc_srtp_salt_len(tc_srtp_profile p);
const char *tc_srtp_profile_name(tc_srtp_profile p);

/* local/remote: key then salt of this side and of the peer. NULL on failure. */
tc_srtp *tc_srtp_create(tc_srtp_profile p, const uint8_t *local_key_salt,
                        const uint8_t *remote_key_salt);
void tc_srtp_destroy(tc_srtp *s);

/* 0, or -EINVAL (too short, bad), -EACCES (authentication failed), -EEXIST (replay). */
int tc_srtp_unprotect_rtp(tc_srtp *s, uint8_t *buf, size_t *len);
int tc_srtp_unprotect_rtcp(tc_srtp *s, uint8_t *buf, size_t *len);
/* cap: the buffer's size, at least *len + TC_SRTP_MAX_TRAILER. */
int tc_srtp_protect_rtp(tc_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int tc_srtp_protect_rtcp(tc_srtp *s, uint8_t *buf, size_t *len, size_t cap);
