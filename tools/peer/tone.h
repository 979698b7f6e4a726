/*
 * tone: the test peer's audio signal. A sine generator for what it sends and a
 * frequency meter for what it receives: decoded 48 kHz PCM is decimated to
 * 8 kHz, cut into 0.2 s Hann-windowed windows, and every other window's
 * strongest frequency between 100 and 2000 Hz is found with Goertzel filters
 * (a 10 Hz scan, then a 1 Hz refinement). Pure; the caller owns the structs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC_TONE_RATE 48000
#define TC_TONE_METER_RATE 8000
#define TC_TONE_WIN 1600 /* 0.2 s at 8 kHz */
/* Estimates kept: 12 (4.8 s of sound) are plenty for a median, and the
 * Goertzel scans were a fifth to a quarter of a benchmark's peer CPU; later
 * windows are only counted. */
#define TC_TONE_MAX_EST 12

typedef struct {
    double phase, step;
} tc_tone_gen;

void tc_tone_gen_init(tc_tone_gen *g, double hz, unsigned rate);
/* n mono samples at amplitude (0..1 of full scale). */
void tc_tone_gen_fill(tc_tone_gen *g, int16_t *pcm, size_t n, double amplitude);

typedef struct {
    float hann[TC_TONE_WIN];
    float win[TC_TONE_WIN];
    size_t fill;
    float decim_sum;
    unsigned decim_n;
    uint64_t windows; /* complete windows seen */
    uint64_t voiced;  /* of them, with sound (RMS above the floor) */
    bool estimate;    /* record frequency estimates (else only count) */
    size_t n_est;
    float est[TC_TONE_MAX_EST];
} tc_tone_meter;

void tc_tone_meter_init(tc_tone_meter *m);
/* Mono 48 kHz samples. */
void tc_tone_meter_feed(tc_tone_meter *m, const int16_t *pcm, size_t n);
/* The median of the recorded estimates, or 0 when there are none. */
double tc_tone_meter_dominant_hz(const tc_tone_meter *m);
/* The strongest frequency in 8 kHz samples x[0..n) (exposed for tests). */
double tc_tone_strongest_hz(const float *x, size_t n);
