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

/* Statistics of dpdkvhostx ports. */

#include <config.h>

#include "vhostx-private.h"
#include "netdev.h"

static uint64_t
vhostx_counter_get(const atomic_uint64_t *counter)
{
    uint64_t v;

    atomic_read_relaxed(CONST_CAST(atomic_uint64_t *, counter), &v);
    return v;
}

/* Sums the per-queue counters of 'netdev' into 'stats'.  rx is what OVS
 * received from the guest, tx what it sent to the guest. */
int
netdev_vhostx_get_stats(const struct netdev *netdev,
                        struct netdev_stats *stats)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    /* netdev_get_stats() has set every member to UINT64_MAX, "unknown". */
    stats->rx_packets = stats->rx_bytes = stats->rx_dropped = 0;
    stats->tx_packets = stats->tx_bytes = stats->tx_dropped = 0;
    stats->rx_errors = stats->tx_errors = 0;

    for (int i = 0; i < VHOSTX_MAX_QUEUE_PAIRS; i++) {
        const struct vhostx_qstats *rx = &dev->rxqs[i].stats;
        const struct vhostx_qstats *tx = &dev->txqs[i].stats;

        stats->rx_packets += vhostx_counter_get(&rx->packets);
        stats->rx_bytes += vhostx_counter_get(&rx->bytes);
        stats->rx_dropped += vhostx_counter_get(&rx->dropped);
        stats->tx_packets += vhostx_counter_get(&tx->packets);
        stats->tx_bytes += vhostx_counter_get(&tx->bytes);
        stats->tx_dropped += vhostx_counter_get(&tx->dropped);
    }
    return 0;
}
