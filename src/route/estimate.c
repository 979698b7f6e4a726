/*
 * estimate.c: see estimate.h. A binary min-heap of agents' free times, one pop
 * and one push per position: O(n log agents) for a whole queue.
 */
#include "estimate.h"

#include <math.h>

static void sift_down(double *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l] < h[m])
            m = l;
        if (r < n && h[r] < h[m])
            m = r;
        if (m == i)
            return;
        double t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

void tc_estimate_waits(double *free_in_s, int agents, double handle_s, int n, int *wait_s)
{
    if (agents <= 0) {
        for (int i = 0; i < n; i++)
            wait_s[i] = -1;
        return;
    }
    for (int i = agents / 2 - 1; i >= 0; i--)
        sift_down(free_in_s, agents, i);
    for (int p = 0; p < n; p++) {
        double t = free_in_s[0] > 0 ? free_in_s[0] : 0;
        wait_s[p] = (int)ceil(t);
        free_in_s[0] = t + handle_s; /* that agent takes this customer */
        sift_down(free_in_s, agents, 0);
    }
}
