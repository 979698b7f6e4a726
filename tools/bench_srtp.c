/*
 * bench_srtp: protect+unprotect pairs per second for each SRTP profile with the
 * libsrtp2 this binary links (tc-bench_srtp --version names it). A benchmark: it
 * prints figures and asserts nothing. Usage: tc-bench_srtp [seconds per profile]
 */
#include "build_info.h"
#include "telecounter/srtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(tc_srtp_profile profile, double seconds, size_t payload)
{
    uint8_t key_a[TC_SRTP_MAX_KEY_SALT], key_b[TC_SRTP_MAX_KEY_SALT];
    for (int i = 0; i < TC_SRTP_MAX_KEY_SALT; i++) {
        key_a[i] = (uint8_t)(i * 7 + 1);
        key_b[i] = (uint8_t)(i * 13 + 5);
    }
    tc_srtp *sender = tc_srtp_create(profile, key_a, key_b);
    tc_srtp *receiver = tc_srtp_create(profile, key_b, key_a);
    if (!sender || !receiver) {
        printf("%-26s cannot be created\n", tc_srtp_profile_name(profile));
        return;
    }
    uint8_t pkt[1500 + TC_SRTP_MAX_TRAILER];
    long pairs = 0;
    double start = now_s(), end = start + seconds;
    for (uint16_t seq = 0; now_s() < end; seq++) {
        for (int k = 0; k < 256; k++, seq++, pairs++) {
            memset(pkt, 0x5a, 12 + payload);
            pkt[0] = 0x80, pkt[1] = 96, pkt[2] = (uint8_t)(seq >> 8), pkt[3] = (uint8_t)seq;
            pkt[8] = 0x12, pkt[9] = 0x34, pkt[10] = 0x56, pkt[11] = 0x78;
            size_t len = 12 + payload;
            if (tc_srtp_protect_rtp(sender, pkt, &len, sizeof pkt) != 0 ||
                tc_srtp_unprotect_rtp(receiver, pkt, &len) != 0) {
                printf("%-26s failed at packet %ld\n", tc_srtp_profile_name(profile), pairs);
                return;
            }
        }
    }
    double elapsed = now_s() - start;
    printf("%-26s %8.0f pairs/s  %6.2f us/pair  (%zu-byte payload)\n",
           tc_srtp_profile_name(profile), (double)pairs / elapsed, elapsed * 1e6 / (double)pairs,
           payload);
    tc_srtp_destroy(sender);
    tc_srtp_destroy(receiver);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0 || seconds > 60)
        seconds = 2.0;
    tc_srtp_init();
    printf("SRTP backend: %s\n", TC_SRTP_BACKEND);
    run(TC_SRTP_AES128_CM_SHA1_80, seconds, 1100);
    run(TC_SRTP_AEAD_AES_128_GCM, seconds, 1100);
    run(TC_SRTP_AES128_CM_SHA1_80, seconds, 160);
    run(TC_SRTP_AEAD_AES_128_GCM, seconds, 160);
    return 0;
}
