/*
 * Copyright (c) 2026 The netdev-vhostx developers.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at:
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/* Debug commands: netdev-vhostx/show. */

#include <config.h>

#include "vhostx-private.h"
#include "netdev.h"
#include "openvswitch/dynamic-string.h"
#include "smap.h"
#include "timeval.h"
#include "unixctl.h"

/* Appends everything about 'dev' to 'reply'. */
static void
vhostx_show_port(struct netdev_vhostx *dev, struct ds *reply)
    OVS_REQUIRES(vhostx_mutex)
{
    struct netdev_custom_stats cs = { 0, NULL };
    const struct smap_node **nodes;
    struct netdev_stats stats;
    struct smap status;
    char *error;

    ds_put_format(reply, "%s:\n", netdev_get_name(&dev->up));

    smap_init(&status);
    vhostx_get_status(dev, &status);
    vhostx_get_reconnect_status(dev, &status);
    nodes = smap_sort(&status);
    for (size_t i = 0; i < smap_count(&status); i++) {
        ds_put_format(reply, "  %s: %s\n", nodes[i]->key, nodes[i]->value);
    }
    free(nodes);
    smap_destroy(&status);

    vhostx_format_notify(dev, reply);

    error = netdev_get_config_error(&dev->up);
    if (error) {
        ds_put_format(reply, "  refused configuration: %s\n", error);
        free(error);
    }

    /* When the counters were read, so that two readings give exact
     * rates. */
    ds_put_format(reply, "  counters-read-us: %lld (monotonic)\n",
                  time_usec());
    netdev_get_stats(&dev->up, &stats);
    ds_put_format(reply, "  from guest: %"PRIu64" packets, %"PRIu64" bytes, "
                  "%"PRIu64" dropped\n", stats.rx_packets, stats.rx_bytes,
                  stats.rx_dropped);
    ds_put_format(reply, "  to guest:   %"PRIu64" packets, %"PRIu64" bytes, "
                  "%"PRIu64" dropped\n", stats.tx_packets, stats.tx_bytes,
                  stats.tx_dropped);

    netdev_vhostx_get_custom_stats(&dev->up, &cs);
    ds_put_cstr(reply, "  queue  ring(rx/tx)   rx packets   rx dropped"
                "   tx packets   tx dropped   tx retries\n");
    size_t n_queue_counters = cs.size - VHOSTX_N_TOTAL_COUNTERS;
    for (size_t i = 0; i < n_queue_counters; i += VHOSTX_N_QUEUE_COUNTERS) {
        int q = i / VHOSTX_N_QUEUE_COUNTERS;
        bool rx_on = dev->rings.guest_tx[q];
        bool tx_on = dev->rings.guest_rx[q];

        ds_put_format(reply, "  %5d  %-4s/%-4s %12"PRIu64" %12"PRIu64
                      " %12"PRIu64" %12"PRIu64" %12"PRIu64"\n", q,
                      rx_on ? "on" : "off", tx_on ? "on" : "off",
                      cs.counters[i].value, cs.counters[i + 2].value,
                      cs.counters[i + 3].value, cs.counters[i + 5].value,
                      cs.counters[i + 6].value);
    }
    for (size_t i = n_queue_counters; i < cs.size; i++) {
        ds_put_format(reply, "  %s: %"PRIu64"\n", cs.counters[i].name,
                      cs.counters[i].value);
    }
    free(cs.counters);
}

static void
vhostx_unixctl_show(struct unixctl_conn *conn, int argc, const char *argv[],
                    void *aux OVS_UNUSED)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct ds reply = DS_EMPTY_INITIALIZER;
    struct netdev_vhostx *dev;
    bool found = false;

    ovs_mutex_lock(&vhostx_mutex);
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        if (argc > 1 && strcmp(argv[1], netdev_get_name(&dev->up))) {
            continue;
        }
        found = true;
        vhostx_show_port(dev, &reply);
    }
    ovs_mutex_unlock(&vhostx_mutex);

    if (argc > 1 && !found) {
        ds_put_format(&reply, "no dpdkvhostx port named %s", argv[1]);
        unixctl_command_reply_error(conn, ds_cstr(&reply));
    } else {
        unixctl_command_reply(conn, ds_cstr(&reply));
    }
    ds_destroy(&reply);
}

static void
vhostx_unixctl_mempool_show(struct unixctl_conn *conn, int argc OVS_UNUSED,
                            const char *argv[] OVS_UNUSED,
                            void *aux OVS_UNUSED)
{
    struct ds reply = DS_EMPTY_INITIALIZER;

    vhostx_mempool_format(&reply);
    unixctl_command_reply(conn, ds_cstr(&reply));
    ds_destroy(&reply);
}

static void
vhostx_unixctl_upstream_types(struct unixctl_conn *conn,
                              int argc OVS_UNUSED,
                              const char *argv[] OVS_UNUSED,
                              void *aux OVS_UNUSED)
{
    struct ds reply = DS_EMPTY_INITIALIZER;

    vhostx_upstream_format(&reply);
    unixctl_command_reply(conn, ds_cstr(&reply));
    ds_destroy(&reply);
}

void
vhostx_appctl_register(void)
{
    unixctl_command_register("netdev-vhostx/mempool-show", "", 0, 0,
                             vhostx_unixctl_mempool_show, NULL);
    unixctl_command_register("netdev-vhostx/show", "[port]", 0, 1,
                             vhostx_unixctl_show, NULL);
    unixctl_command_register("netdev-vhostx/upstream-types", "", 0, 0,
                             vhostx_unixctl_upstream_types, NULL);
}
