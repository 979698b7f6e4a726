/*
 * views.c: read-only summaries of the router for agents' queue panels and the
 * ops statistics. Nothing here changes state.
 */
#include "router_internal.h"

#include <stdio.h>
#include <string.h>

int tc_router_desk_summaries(tc_router *r, int64_t now, tc_desk_summary *out, int max)
{
    int n = r->cfg->desk_count < max ? r->cfg->desk_count : max;
    for (int d = 0; d < n; d++) {
        tc_desk_summary *sum = &out[d];
        memset(sum, 0, sizeof *sum);
        snprintf(sum->desk, sizeof sum->desk, "%s", r->cfg->desks[d]);
        for (GList *l = r->desks[d].queue.head; l; l = l->next) {
            tc_session *s = l->data;
            sum->waiting++;
            sum->invites_waiting += s->priority > 0;
            int waited_s = (int)((now - s->queued_at) / 1000);
            if (waited_s > sum->longest_wait_s)
                sum->longest_wait_s = waited_s;
        }
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, r->agents);
        while (g_hash_table_iter_next(&it, &key, &value)) {
            tc_agent *a = value;
            if (((a->skills >> d) & 1u) && !a->owed_session_id)
                sum->agents[a->state]++;
        }
    }
    return n;
}

void tc_router_agent_counts(tc_router *r, int counts[TC_AGENT_STATE_COUNT])
{
    memset(counts, 0, sizeof(int) * TC_AGENT_STATE_COUNT);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->agents);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (!((tc_agent *)value)->owed_session_id) /* gone past its window */
            counts[((tc_agent *)value)->state]++;
}

void tc_router_foreach_call(tc_router *r, void (*fn)(void *user, const tc_call_view *c), void *user)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_session *s = value;
        if (s->state != TC_SESSION_ANSWERED)
            continue;
        tc_call_view c = {.session_id = s->id, .answered_at = s->answered_at};
        snprintf(c.desk, sizeof c.desk, "%s", r->cfg->desks[s->desk]);
        tc_agent *a = tc_router_find_agent(r, s->agent_id);
        snprintf(c.agent_username, sizeof c.agent_username, "%s", a ? a->username : "");
        fn(user, &c);
    }
}
