/*
 * hold.c: the hold audio a queued customer hears: two soft bell-like notes and
 * a pause, 4 seconds looped, made and Opus-encoded once when the relay starts.
 */
#include "media_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <math.h>
#include <opus.h>

#define RATE 48000
#define FRAME 960 /* 20 ms */
#define SECONDS 4
#define FRAMES (SECONDS * RATE / FRAME)
#define MAX_FRAME_BYTES 400

/* A note that starts at once and fades out, like a soft bell. */
static float note(double t, double start, double hz)
{
    double x = t - start;
    if (x < 0 || x > 1.5)
        return 0;
    double envelope = exp(-3.0 * x) * (x < 0.01 ? x / 0.01 : 1.0);
    return (float)(0.12 * envelope * sin(2 * M_PI * hz * x));
}

static float sample_at(int i)
{
    double t = (double)i / RATE;
    /* D5 then G4: a falling fifth, soft; away from the 440/660/880 Hz tones the
     * test peers send, so tests can tell hold audio from a person. */
    return note(t, 0.0, 587.33) + note(t, 0.6, 392.00);
}

int tc_hold_audio_make(uint8_t **frames, uint32_t **offsets, uint16_t **lens)
{
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_AUDIO, &err);
    if (!enc) {
        tc_error("hold audio: opus encoder: %s", opus_strerror(err));
        return -ENOMEM;
    }
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(24000));
    *frames = g_malloc((size_t)FRAMES * MAX_FRAME_BYTES);
    *offsets = g_new(uint32_t, FRAMES);
    *lens = g_new(uint16_t, FRAMES);
    uint32_t at = 0;
    float pcm[FRAME];
    for (int f = 0; f < FRAMES; f++) {
        for (int i = 0; i < FRAME; i++)
            pcm[i] = sample_at(f * FRAME + i);
        int n = opus_encode_float(enc, pcm, FRAME, *frames + at, MAX_FRAME_BYTES);
        if (n < 0) {
            opus_encoder_destroy(enc);
            return -EIO;
        }
        (*offsets)[f] = at;
        (*lens)[f] = (uint16_t)n;
        at += (uint32_t)n;
    }
    opus_encoder_destroy(enc);
    return FRAMES;
}
