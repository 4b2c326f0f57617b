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

/* The datapath side: the mbuf pool, receive from and transmit to the
 * guest. */

#include <config.h>

#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_vhost.h>

#include "vhostx-private.h"
#include "coverage.h"
#include "dp-packet.h"
#include "openvswitch/vlog.h"

VLOG_DEFINE_THIS_MODULE(vhostx_rxtx);

COVERAGE_DEFINE(vhostx_tx_copy);
COVERAGE_DEFINE(vhostx_tx_ring_full);

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);

/* Number of mbufs in the pool shared by all dpdkvhostx ports. */
#define VHOSTX_N_MBUFS (16 * 1024 - 1)
#define VHOSTX_MBUF_CACHE 256

/* Queue numbers of a vhost device, as DPDK counts them: the guest's rx
 * ring of queue pair 'qp' is 2 * qp, its tx ring 2 * qp + 1. */
#define VHOSTX_GUEST_RXQ(QP) ((QP) * 2)
#define VHOSTX_GUEST_TXQ(QP) ((QP) * 2 + 1)

/* Created once, under 'mp_mutex', before any port can pass packets; read
 * without the lock afterwards. */
static struct ovs_mutex mp_mutex = OVS_MUTEX_INITIALIZER;
static struct rte_mempool *vhostx_mp;

/* Makes mbuf 'obj' a valid dp_packet: OVS frees a packet whose source is
 * DPBUF_DPDK back to its pool. */
static void
vhostx_mbuf_init(struct rte_mempool *mp OVS_UNUSED, void *opaque OVS_UNUSED,
                 void *obj, unsigned int idx OVS_UNUSED)
{
    dp_packet_init_dpdk((struct dp_packet *) obj);
}

/* Returns the mbuf pool of the dpdkvhostx ports, creating it on first use.
 * On failure returns NULL and stores an error message, which the caller
 * must free, in '*errp'. */
struct rte_mempool *
vhostx_mempool_get(char **errp)
    OVS_EXCLUDED(mp_mutex)
{
    struct rte_mempool *mp;

    ovs_mutex_lock(&mp_mutex);
    if (!vhostx_mp) {
        /* The private area holds the part of 'struct dp_packet' that
         * follows the embedded mbuf. */
        uint16_t priv = sizeof(struct dp_packet) - sizeof(struct rte_mbuf);

        vhostx_mp = rte_pktmbuf_pool_create("vhostx_mp", VHOSTX_N_MBUFS,
                                            VHOSTX_MBUF_CACHE, priv,
                                            RTE_MBUF_DEFAULT_BUF_SIZE,
                                            SOCKET_ID_ANY);
        if (vhostx_mp) {
            rte_mempool_obj_iter(vhostx_mp, vhostx_mbuf_init, NULL);
            VLOG_INFO("created mbuf pool of %u mbufs of %u bytes",
                      VHOSTX_N_MBUFS, RTE_MBUF_DEFAULT_BUF_SIZE);
        } else {
            *errp = xasprintf("could not create the mbuf pool of %u mbufs "
                              "(%s): are enough hugepages free?",
                              VHOSTX_N_MBUFS, rte_strerror(rte_errno));
        }
    }
    mp = vhostx_mp;
    ovs_mutex_unlock(&mp_mutex);
    return mp;
}

/* Marks the start of a burst on 'q' and returns the device's vid, or -1 if
 * no device is attached, in which case the burst must not start.  The
 * sequentially consistent increment and load pair with the store and wait
 * in destroy_device(). */
static int
vhostx_burst_begin(struct netdev_vhostx *dev, struct vhostx_queue *q)
{
    int vid;

    atomic_count_inc(&q->busy);
    atomic_read(&dev->vid, &vid);
    if (vid < 0) {
        atomic_count_dec(&q->busy);
    }
    return vid;
}

static void
vhostx_burst_end(struct vhostx_queue *q)
{
    atomic_count_dec(&q->busy);
}

/* Adds 'n' to a counter that has a single writer at a time. */
static inline void
vhostx_counter_add(atomic_uint64_t *counter, uint64_t n)
{
    uint64_t v;

    atomic_read_relaxed(counter, &v);
    atomic_store_relaxed(counter, v + n);
}

struct netdev_rxq *
netdev_vhostx_rxq_alloc(void)
{
    struct netdev_rxq_vhostx *rx = xzalloc(sizeof *rx);

    return &rx->up;
}

int
netdev_vhostx_rxq_construct(struct netdev_rxq *rxq OVS_UNUSED)
{
    return 0;
}

void
netdev_vhostx_rxq_destruct(struct netdev_rxq *rxq OVS_UNUSED)
{
}

void
netdev_vhostx_rxq_dealloc(struct netdev_rxq *rxq)
{
    free(netdev_rxq_vhostx_cast(rxq));
}

int
netdev_vhostx_rxq_recv(struct netdev_rxq *rxq, struct dp_packet_batch *batch,
                       int *qfill)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(rxq->netdev);
    struct vhostx_queue *q = &dev->rxqs[rxq->queue_id];
    struct rte_mempool *mp;
    uint64_t bytes = 0;
    uint16_t n;
    int vid;

    mp = vhostx_mp;
    vid = vhostx_burst_begin(dev, q);
    if (vid < 0) {
        return EAGAIN;
    }
    n = rte_vhost_dequeue_burst(vid, VHOSTX_GUEST_TXQ(rxq->queue_id), mp,
                                (struct rte_mbuf **) batch->packets,
                                NETDEV_MAX_BURST);
    if (qfill) {
        *qfill = (n == NETDEV_MAX_BURST
                  ? rte_vhost_rx_queue_count(vid,
                                             VHOSTX_GUEST_TXQ(rxq->queue_id))
                  : 0);
    }
    vhostx_burst_end(q);

    if (!n) {
        return EAGAIN;
    }

    batch->count = n;
    dp_packet_batch_init_packet_fields(batch);
    for (int i = 0; i < n; i++) {
        bytes += dp_packet_size(batch->packets[i]);
    }
    vhostx_counter_add(&q->stats.packets, n);
    vhostx_counter_add(&q->stats.bytes, bytes);
    return 0;
}

/* Returns an mbuf that holds a copy of 'packet', or NULL if 'packet' does
 * not fit in one of our mbufs or the pool is empty. */
static struct rte_mbuf *
vhostx_copy_to_mbuf(struct dp_packet *packet)
{
    uint32_t size = dp_packet_size(packet);
    struct rte_mbuf *m;

    m = rte_pktmbuf_alloc(vhostx_mp);
    if (!m) {
        return NULL;
    }
    if (size > rte_pktmbuf_tailroom(m)) {
        rte_pktmbuf_free(m);
        return NULL;
    }
    memcpy(rte_pktmbuf_mtod(m, void *), dp_packet_data(packet), size);
    m->data_len = size;
    m->pkt_len = size;
    return m;
}

int
netdev_vhostx_send(struct netdev *netdev, int qid,
                   struct dp_packet_batch *batch,
                   bool concurrent_txq OVS_UNUSED)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    struct rte_mbuf *pkts[NETDEV_MAX_BURST];
    struct rte_mbuf *copies[NETDEV_MAX_BURST];
    int n_pkts = 0, n_copies = 0, n_dropped = 0;
    struct dp_packet *packet;
    struct vhostx_queue *q;
    uint64_t bytes = 0;
    int sent = 0;
    int vid;

    /* Several OVS tx queues may map onto one vring, so transmit always
     * takes the vring's lock; it is per queue and short. */
    q = &dev->txqs[qid % VHOSTX_MAX_QUEUE_PAIRS];

    dp_packet_batch_apply_cutlen(batch);
    DP_PACKET_BATCH_FOR_EACH (i, packet, batch) {
        struct rte_mbuf *m;

        if (packet->source == DPBUF_DPDK) {
            m = (struct rte_mbuf *) packet;
        } else {
            COVERAGE_INC(vhostx_tx_copy);
            m = vhostx_copy_to_mbuf(packet);
            if (!m) {
                n_dropped++;
                continue;
            }
            copies[n_copies++] = m;
        }
        pkts[n_pkts++] = m;
    }

    vid = vhostx_burst_begin(dev, q);
    if (vid >= 0) {
        int retries = 0;

        int guest_rxq = VHOSTX_GUEST_RXQ(q - dev->txqs);

        rte_spinlock_lock(&q->tx_lock);
        for (;;) {
            sent += rte_vhost_enqueue_burst(vid, guest_rxq, pkts + sent,
                                            n_pkts - sent);
            if (sent == n_pkts || retries >= VHOSTX_TX_RETRIES) {
                break;
            }
            retries++;
        }
        vhostx_burst_end(q);

        for (int i = 0; i < sent; i++) {
            bytes += rte_pktmbuf_pkt_len(pkts[i]);
        }
        if (sent < n_pkts) {
            COVERAGE_INC(vhostx_tx_ring_full);
            VLOG_DBG_RL(&rl, "%s: guest rx ring full, %d packets dropped",
                        netdev_get_name(netdev), n_pkts - sent);
        }
        vhostx_counter_add(&q->stats.packets, sent);
        vhostx_counter_add(&q->stats.bytes, bytes);
        vhostx_counter_add(&q->stats.dropped, n_dropped + n_pkts - sent);
        vhostx_counter_add(&q->stats.retries, retries);
        rte_spinlock_unlock(&q->tx_lock);
    } else {
        /* No guest: everything is dropped.  The counter is updated under
         * the lock so that it keeps a single writer. */
        rte_spinlock_lock(&q->tx_lock);
        vhostx_counter_add(&q->stats.dropped, batch->count);
        rte_spinlock_unlock(&q->tx_lock);
    }

    /* The vhost library copies the packets into guest memory, so all the
     * mbufs are ours to free. */
    for (int i = 0; i < n_copies; i++) {
        rte_pktmbuf_free(copies[i]);
    }
    dp_packet_delete_batch(batch, true);
    return 0;
}
