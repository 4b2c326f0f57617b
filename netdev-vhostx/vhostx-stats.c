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

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdio.h>

#include "vhostx-private.h"
#include "netdev.h"
#include "openvswitch/dynamic-string.h"

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
    stats->rx_length_errors = 0;

    for (int i = 0; i < VHOSTX_MAX_QUEUE_PAIRS; i++) {
        const struct vhostx_qstats *rx = &dev->rxqs[i].stats;
        const struct vhostx_qstats *tx = &dev->txqs[i].stats;

        stats->rx_packets += vhostx_counter_get(&rx->packets);
        stats->rx_bytes += vhostx_counter_get(&rx->bytes);
        stats->rx_dropped += vhostx_counter_get(&rx->dropped);
        stats->rx_length_errors += vhostx_counter_get(&rx->oversize);
        stats->tx_packets += vhostx_counter_get(&tx->packets);
        stats->tx_bytes += vhostx_counter_get(&tx->bytes);
        stats->tx_dropped += vhostx_counter_get(&tx->dropped);
    }
    return 0;
}

/* Returns the number of queue pairs whose counters are worth showing: those
 * the datapath polls and those of the attached device, at least one. */
static int
vhostx_n_shown_queues(const struct netdev_vhostx *dev)
{
    int n_qp;

    atomic_read(&CONST_CAST(struct netdev_vhostx *, dev)->dev_n_qp, &n_qp);
    return MIN(MAX(MAX(n_qp, dev->up.n_rxq), 1), VHOSTX_MAX_QUEUE_PAIRS);
}

static void
add_counter(struct netdev_custom_stats *cs, const char *name, uint64_t v)
{
    struct netdev_custom_counter *c = &cs->counters[cs->size++];

    ovs_strlcpy(c->name, name, sizeof c->name);
    c->value = v;
}

/* Per-queue counters and the totals that netdev_stats has no member for.
 * "rx" is from the guest, "tx" to the guest; queue N is the guest's queue
 * pair N. */
int
netdev_vhostx_get_custom_stats(const struct netdev *netdev,
                               struct netdev_custom_stats *cs)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    int n = vhostx_n_shown_queues(dev);
    uint64_t retries = 0, rx_oversize = 0, tx_oversize = 0;
    uint64_t rx_policed = 0, tx_policed = 0;
    char name[NETDEV_CUSTOM_STATS_NAME_SIZE];

    cs->size = 0;
    cs->counters = xcalloc(n * VHOSTX_N_QUEUE_COUNTERS
                           + VHOSTX_N_TOTAL_COUNTERS, sizeof *cs->counters);
    for (int i = 0; i < n; i++) {
        const struct vhostx_qstats *rx = &dev->rxqs[i].stats;
        const struct vhostx_qstats *tx = &dev->txqs[i].stats;

#define ADD_Q(DIR, FIELD, COUNTER)                                  \
        snprintf(name, sizeof name, DIR "_q%d_" FIELD, i);          \
        add_counter(cs, name, vhostx_counter_get(COUNTER));
        ADD_Q("rx", "packets", &rx->packets);
        ADD_Q("rx", "bytes", &rx->bytes);
        ADD_Q("rx", "dropped", &rx->dropped);
        ADD_Q("tx", "packets", &tx->packets);
        ADD_Q("tx", "bytes", &tx->bytes);
        ADD_Q("tx", "dropped", &tx->dropped);
        ADD_Q("tx", "retries", &tx->retries);
#undef ADD_Q
        retries += vhostx_counter_get(&tx->retries);
        rx_oversize += vhostx_counter_get(&rx->oversize);
        tx_oversize += vhostx_counter_get(&tx->oversize);
        rx_policed += vhostx_counter_get(&rx->policed);
        tx_policed += vhostx_counter_get(&tx->policed);
    }
    add_counter(cs, "tx_retries", retries);
    add_counter(cs, "rx_oversize_dropped", rx_oversize);
    add_counter(cs, "tx_oversize_dropped", tx_oversize);
    /* Named as upstream's DPDK ports name them, for existing monitoring. */
    add_counter(cs, "ovs_rx_qos_drops", rx_policed);
    add_counter(cs, "ovs_tx_qos_drops", tx_policed);
    return 0;
}

/* Appends the names of the virtio features in 'features' that matter to an
 * operator, and the hexadecimal value, to 's'. */
void
vhostx_format_features(struct ds *s, uint64_t features)
{
    static const struct {
        int bit;
        const char *name;
    } names[] = {
        { VIRTIO_NET_F_MRG_RXBUF, "mrg_rxbuf" },
        { VIRTIO_NET_F_MQ, "mq" },
        { VIRTIO_NET_F_GUEST_ANNOUNCE, "guest_announce" },
        { VIRTIO_NET_F_GUEST_CSUM, "guest_csum" },
        { VIRTIO_NET_F_CTRL_VQ, "ctrl_vq" },
        { VIRTIO_RING_F_INDIRECT_DESC, "indirect_desc" },
        { VIRTIO_RING_F_EVENT_IDX, "event_idx" },
        { VIRTIO_F_VERSION_1, "version_1" },
        { VIRTIO_F_RING_PACKED, "ring_packed" },
        { VIRTIO_F_IN_ORDER, "in_order" },
        { VIRTIO_F_IOMMU_PLATFORM, "iommu_platform" },
        { 26 /* VHOST_F_LOG_ALL */, "log_all" },
    };

    ds_put_format(s, "0x%"PRIx64, features);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (features & (UINT64_C(1) << names[i].bit)) {
            ds_put_format(s, " %s", names[i].name);
        }
    }
}
