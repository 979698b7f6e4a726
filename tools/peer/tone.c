/*
 * tone.c: sine generator and Goertzel frequency meter (see tone.h).
 */
#include "tone.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DECIM (TC_TONE_RATE / TC_TONE_METER_RATE)
#define SILENCE_RMS 100.0 /* of int16 full scale: below it a window is silence */
#define SCAN_LO_HZ 100.0
#define SCAN_HI_HZ 2000.0

void tc_tone_gen_init(tc_tone_gen *g, double hz, unsigned rate)
{
    g->phase = 0;
    g->step = 2.0 * M_PI * hz / rate;
}

void tc_tone_gen_fill(tc_tone_gen *g, int16_t *pcm, size_t n, double amplitude)
{
    for (size_t i = 0; i < n; i++) {
        pcm[i] = (int16_t)lrint(sin(g->phase) * amplitude * 32767.0);
        g->phase += g->step;
        if (g->phase > 2.0 * M_PI)
            g->phase -= 2.0 * M_PI;
    }
}

void tc_tone_meter_init(tc_tone_meter *m)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < TC_TONE_WIN; i++)
        m->hann[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (TC_TONE_WIN - 1)));
}

static double goertzel_power(const float *x, size_t n, double hz)
{
    double coeff = 2.0 * cos(2.0 * M_PI * hz / TC_TONE_METER_RATE);
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s = x[i] + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/* Best frequency in [lo, hi] by steps of step_hz. */
static double scan(const float *x, size_t n, double lo, double hi, double step_hz)
{
    double best_hz = lo, best = -1;
    for (double f = lo; f <= hi + 1e-9; f += step_hz) {
        double p = goertzel_power(x, n, f);
        if (p > best) {
            best = p;
            best_hz = f;
        }
    }
    return best_hz;
}

double tc_tone_strongest_hz(const float *x, size_t n)
{
    double coarse = scan(x, n, SCAN_LO_HZ, SCAN_HI_HZ, 10.0);
    double lo = coarse - 10.0 < SCAN_LO_HZ ? SCAN_LO_HZ : coarse - 10.0;
    return scan(x, n, lo, coarse + 10.0, 1.0);
}

static void window_done(tc_tone_meter *m)
{
    double energy = 0;
    for (size_t i = 0; i < TC_TONE_WIN; i++)
        energy += (double)m->win[i] * m->win[i];
    m->windows++;
    if (sqrt(energy / TC_TONE_WIN) < SILENCE_RMS)
        return;
    m->voiced++;
    /* Every other voiced window: enough estimates, half the cost per peer. */
    if (!m->estimate || (m->voiced & 1) || m->n_est >= TC_TONE_MAX_EST)
        return;
    for (size_t i = 0; i < TC_TONE_WIN; i++)
        m->win[i] *= m->hann[i];
    m->est[m->n_est++] = (float)tc_tone_strongest_hz(m->win, TC_TONE_WIN);
}

void tc_tone_meter_feed(tc_tone_meter *m, const int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        m->decim_sum += pcm[i];
        if (++m->decim_n < DECIM)
            continue;
        m->win[m->fill++] = m->decim_sum / DECIM;
        m->decim_sum = 0;
        m->decim_n = 0;
        if (m->fill == TC_TONE_WIN) {
            window_done(m);
            m->fill = 0;
        }
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double tc_tone_meter_dominant_hz(const tc_tone_meter *m)
{
    if (m->n_est == 0)
        return 0;
    float sorted[TC_TONE_MAX_EST];
    memcpy(sorted, m->est, m->n_est * sizeof sorted[0]);
    qsort(sorted, m->n_est, sizeof sorted[0], cmp_float);
    return sorted[m->n_est / 2];
}
