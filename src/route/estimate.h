/*
 * estimate: wait estimates for a desk's queue, pure. Each agent who can take a
 * call soon frees up at some time from now (0 = available now; the rest of its
 * call or after-call work otherwise). Customers are served in queue order: the
 * next one goes to the agent who frees up first, who is then busy for one
 * handle time. The estimate of position p is when its agent frees up.
 *
 * An agent with several skills is counted at each of its desks, so estimates
 * lean optimistic when agents are shared; docs/protocol.md says so.
 */
#pragma once

/* free_in_s: agents' free times (seconds from now, >= 0), scratch: it is reordered.
 * Fills wait_s[0..n-1] for positions 1..n; with no agent, every estimate is -1. */
void tc_estimate_waits(double *free_in_s, int agents, double handle_s, int n, int *wait_s);
