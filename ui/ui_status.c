/*
 * ui_status: the bottom bar: listen address, the routing the core confirmed (the last
 * model_switch record), live requests, tokens and cost, records dropped for the UI, the
 * journal; in a replayed journal, the file and the replay position instead.
 */
#include "ui_screen.h"

#include <stdio.h>
#include <string.h>

void ui_status_draw(struct ui *u, int y)
{
        const struct ui_model *m = u->m;
        char line[1024], route[160];
        size_t n = 0;
        uint64_t dropped = u->o->dropped ? u->o->dropped(u->o->arg) : 0;

        if (m->routed)
                snprintf(route, sizeof(route), "%s%s%s", m->route_to,
                         m->route_scope && strcmp(m->route_scope, "all") ? " for " : "",
                         m->route_scope && strcmp(m->route_scope, "all") ? m->route_scope : "");
        else
                snprintf(route, sizeof(route), "models.yaml");
        if (u->m == &u->file) {
                n += (size_t)snprintf(line + n, sizeof(line) - n, " replay %s %zu/%zu %s x%g",
                                      u->replay.path ? u->replay.path : "?", u->replay.pos,
                                      u->replay.n, u->replay.playing ? "playing" : "paused",
                                      u->replay.speed);
        } else {
                n += (size_t)snprintf(line + n, sizeof(line) - n, " %s \xe2\x94\x82 route %s",
                                      u->o->listen ? u->o->listen : "-", route);
        }
        n += (size_t)snprintf(line + n, sizeof(line) - n,
                              " \xe2\x94\x82 live %zu \xe2\x94\x82 in %ld out %ld cache %ld",
                              m->live, m->input_tokens, m->output_tokens, m->cache_tokens);
        if (m->cost > 0)
                n += (size_t)snprintf(line + n, sizeof(line) - n, " $%.4f", m->cost);
        if (ui_filter_active(&m->filter))
                n += (size_t)snprintf(line + n, sizeof(line) - n, " \xe2\x94\x82 filter %s",
                                      m->filter.text);
        if (u->follow)
                n += (size_t)snprintf(line + n, sizeof(line) - n, " \xe2\x94\x82 follow");
        if (u->o->records)
                n += (size_t)snprintf(line + n, sizeof(line) - n, " \xe2\x94\x82 dropped %llu",
                                      (unsigned long long)dropped);
        if (u->o->journal && n < sizeof(line))
                snprintf(line + n, sizeof(line) - n, " \xe2\x94\x82 journal %s", u->o->journal);
        ui_attr(u, UI_C_BAR, 0, true);
        mvhline(y, 0, ' ', u->cols);
        ui_put(y, 0, line, strlen(line), u->cols);
        ui_attr(u, UI_C_BAR, 0, false);
}
