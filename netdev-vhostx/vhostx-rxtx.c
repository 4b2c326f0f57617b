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

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_vhost.h>

#include "vhostx-private.h"
#include "coverage.h"
#include "dp-packet.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/vlog.h"

VLOG_DEFINE_THIS_MODULE(vhostx_rxtx);

COVERAGE_DEFINE(vhostx_tx_copy);
COVERAGE_DEFINE(vhostx_tx_ring_full);
COVERAGE_DEFINE(vhostx_tx_contention);

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);

#define VHOSTX_MBUF_CACHE RTE_MEMPOOL_CACHE_MAX_SIZE

/* A pool with fewer free mbufs than this is reported as nearly exhausted:
 * a dequeue of a burst from the guest may then fail, and DPDK leaves the
 * packets in the guest's ring without a word. */
#define VHOSTX_MBUF_LOW (4 * NETDEV_MAX_BURST)

/* Queue numbers of a vhost device, as DPDK counts them: the guest's rx
 * ring of queue pair 'qp' is 2 * qp, its tx ring 2 * qp + 1. */
#define VHOSTX_GUEST_RXQ(QP) ((QP) * 2)
#define VHOSTX_GUEST_TXQ(QP) ((QP) * 2 + 1)

/* A pool for frames up to 'frame_len' bytes on a NUMA node.  Pools are
 * shared by the ports that need the same, and kept once made: there are
 * few distinct MTUs and NUMA nodes. */
struct vhostx_mp {
    struct ovs_list node;
    int numa;
    uint32_t data_room;
    struct rte_mempool *mp;
    long long int n_low;        /* Checks that found it nearly exhausted. */
    unsigned int min_free;      /* Fewest free mbufs a check found. */
};

static struct ovs_mutex mp_mutex = OVS_MUTEX_INITIALIZER;
static struct ovs_list vhostx_mps OVS_GUARDED_BY(mp_mutex)
    = OVS_LIST_INITIALIZER(&vhostx_mps);

/* Mbufs in each pool made from now on, from other_config:vhostx-n-mbufs. */
static unsigned int vhostx_n_mbufs OVS_GUARDED_BY(mp_mutex)
    = VHOSTX_N_MBUFS_DEFAULT;

COVERAGE_DEFINE(vhostx_mbuf_pool_low);

/* Sets the number of mbufs in pools made from now on to 'n_mbufs'.  Pools
 * that exist stay as they are: ports use them without a lock. */
void
vhostx_mempool_set_size(unsigned int n_mbufs)
    OVS_EXCLUDED(mp_mutex)
{
    ovs_mutex_lock(&mp_mutex);
    if (n_mbufs != vhostx_n_mbufs) {
        VLOG_INFO("mbuf pools made from now on have %u mbufs%s", n_mbufs,
                  ovs_list_is_empty(&vhostx_mps)
                  ? "" : "; existing pools keep their size until "
                         "ovs-vswitchd restarts");
        vhostx_n_mbufs = n_mbufs;
    }
    ovs_mutex_unlock(&mp_mutex);
}

/* Checks how many mbufs each pool has free, and reports a pool that is
 * nearly exhausted: in the log (rate-limited), in a coverage counter and in
 * netdev-vhostx/mempool-show.  Called once a second by the main thread: an
 * exhaustion that lasts shows, which is the kind that loses traffic. */
void
vhostx_mempool_check(void)
    OVS_EXCLUDED(mp_mutex)
{
    static struct vlog_rate_limit low_rl = VLOG_RATE_LIMIT_INIT(1, 60);
    struct vhostx_mp *vmp;

    ovs_mutex_lock(&mp_mutex);
    LIST_FOR_EACH (vmp, node, &vhostx_mps) {
        unsigned int n_free = rte_mempool_avail_count(vmp->mp);

        vmp->min_free = MIN(vmp->min_free, n_free);
        if (n_free < VHOSTX_MBUF_LOW) {
            vmp->n_low++;
            COVERAGE_INC(vhostx_mbuf_pool_low);
            VLOG_WARN_RL(&low_rl, "mbuf pool %s is nearly exhausted: %u of "
                         "%u mbufs free; guests' packets wait in their "
                         "rings or are dropped (raise other_config:"
                         "vhostx-n-mbufs)", vmp->mp->name, n_free,
                         vmp->mp->size);
        }
    }
    ovs_mutex_unlock(&mp_mutex);
}

/* Makes mbuf 'obj' a valid dp_packet: OVS frees a packet whose source is
 * DPBUF_DPDK back to its pool. */
static void
vhostx_mbuf_init(struct rte_mempool *mp OVS_UNUSED, void *opaque OVS_UNUSED,
                 void *obj, unsigned int idx OVS_UNUSED)
{
    dp_packet_init_dpdk((struct dp_packet *) obj);
}

/* Returns an mbuf pool on NUMA node 'numa' (or any, if it is negative)
 * whose mbufs hold a whole frame of a port with 'mtu' in one segment,
 * creating it if needed.  On failure returns NULL and stores an error
 * message, which the caller must free, in '*errp'. */
struct rte_mempool *
vhostx_mempool_get(int numa, int mtu, char **errp)
    OVS_EXCLUDED(mp_mutex)
{
    uint32_t data_room = ROUND_UP(vhostx_frame_len(mtu) + RTE_PKTMBUF_HEADROOM,
                                  RTE_CACHE_LINE_SIZE);
    struct rte_mempool *mp = NULL;
    struct vhostx_mp *vmp;

    ovs_mutex_lock(&mp_mutex);
    LIST_FOR_EACH (vmp, node, &vhostx_mps) {
        if (vmp->numa == numa && vmp->data_room == data_room) {
            mp = vmp->mp;
            goto out;
        }
    }

    /* The private area holds the part of 'struct dp_packet' that follows
     * the embedded mbuf. */
    uint16_t priv = sizeof(struct dp_packet) - sizeof(struct rte_mbuf);
    unsigned int n = (data_room > RTE_MBUF_DEFAULT_BUF_SIZE
                      ? vhostx_n_mbufs / 4 : vhostx_n_mbufs);
    char name[RTE_MEMPOOL_NAMESIZE];

    snprintf(name, sizeof name, "vhx_%d_%u", numa, data_room);
    mp = rte_pktmbuf_pool_create(name, n, VHOSTX_MBUF_CACHE, priv,
                                 data_room, numa < 0 ? SOCKET_ID_ANY : numa);
    if (!mp) {
        *errp = xasprintf("could not create a pool of %u mbufs of %u bytes "
                          "on NUMA node %d (%s): are enough hugepages "
                          "free?", n, data_room, numa,
                          rte_strerror(rte_errno));
        goto out;
    }
    rte_mempool_obj_iter(mp, vhostx_mbuf_init, NULL);
    vmp = xmalloc(sizeof *vmp);
    vmp->numa = numa;
    vmp->data_room = data_room;
    vmp->mp = mp;
    vmp->n_low = 0;
    vmp->min_free = n;
    ovs_list_push_back(&vhostx_mps, &vmp->node);
    VLOG_INFO("created mbuf pool %s: %u mbufs of %u bytes", name, n,
              data_room);

out:
    ovs_mutex_unlock(&mp_mutex);
    return mp;
}

/* Appends a line about each mbuf pool to 's': its NUMA node, frame room,
 * size and how many of its mbufs are in use (neither free in the pool nor
 * in a thread's cache). */
void
vhostx_mempool_format(struct ds *s)
    OVS_EXCLUDED(mp_mutex)
{
    struct vhostx_mp *vmp;

    ovs_mutex_lock(&mp_mutex);
    LIST_FOR_EACH (vmp, node, &vhostx_mps) {
        ds_put_format(s, "%s: numa %d, %u bytes per mbuf, %u mbufs, "
                      "%u in use, fewest free %u, nearly exhausted %lld "
                      "times\n", vmp->mp->name, vmp->numa,
                      vmp->data_room, vmp->mp->size,
                      rte_mempool_in_use_count(vmp->mp), vmp->min_free,
                      vmp->n_low);
    }
    if (ovs_list_is_empty(&vhostx_mps)) {
        ds_put_cstr(s, "no mbuf pools: no guest has attached yet\n");
    }
    ovs_mutex_unlock(&mp_mutex);
}

/* Adds 'n' to a counter that has a single writer at a time. */
static inline void
vhostx_counter_add(atomic_uint64_t *counter, uint64_t n)
{
    uint64_t v;

    atomic_read_relaxed(counter, &v);
    atomic_store_relaxed(counter, v + n);
}

/* Runs 'policer' on the '*n' frames in 'pkts', keeps the ones it admits at
 * the front of 'pkts', in order, and updates '*n'.  Frees the dropped ones
 * if 'free_dropped'.  Subtracts their bytes from '*bytes' if it is nonnull.
 * Returns the number dropped. */
static int
vhostx_police(struct vhostx_policer *policer, struct rte_mbuf **pkts, int *n,
              uint64_t *bytes, bool free_dropped)
{
    uint32_t lens[NETDEV_MAX_BURST];
    uint32_t admitted;
    int kept = 0;

    for (int i = 0; i < *n; i++) {
        lens[i] = rte_pktmbuf_pkt_len(pkts[i]);
    }
    admitted = vhostx_policer_admit(policer, rte_get_tsc_cycles(), lens, *n);
    if (admitted == vhostx_batch_mask(*n)) {
        return 0;
    }
    for (int i = 0; i < *n; i++) {
        if (admitted & (UINT32_C(1) << i)) {
            pkts[kept++] = pkts[i];
        } else {
            if (bytes) {
                *bytes -= lens[i];
            }
            if (free_dropped) {
                rte_pktmbuf_free(pkts[i]);
            }
        }
    }

    int dropped = *n - kept;
    *n = kept;
    return dropped;
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

/* Returns true if the guest's tx ring of the queue pair of 'rxq' is
 * enabled, so that dpif-netdev polls it. */
bool
netdev_vhostx_rxq_enabled(struct netdev_rxq *rxq)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(rxq->netdev);
    bool enabled;

    atomic_read_relaxed(&dev->rxqs[rxq->queue_id].enabled, &enabled);
    return enabled;
}

int
netdev_vhostx_rxq_recv(struct netdev_rxq *rxq, struct dp_packet_batch *batch,
                       int *qfill)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(rxq->netdev);
    int qid = rxq->queue_id;
    struct vhostx_queue *q = &dev->rxqs[qid];
    struct vhostx_policer *policer;
    int vid = vhostx_get_vid(dev);
    uint64_t bytes = 0;
    int n_oversize = 0;
    int n_policed = 0;
    bool first_rx, up;
    int n_qp;
    uint16_t n;

    /* No device, or no mbufs yet (see vhostx-recover.c): the guest's
     * packets wait in its ring.  So do they while the port is down, and
     * in a ring that a device which replaced another one does not have.
     * 'dev_n_qp' is the queue count of device 'vid' or of a later one (see
     * vhostx_get_vid()); DPDK checks the index too, but logs an error. */
    atomic_read_relaxed(&dev->admin_up, &up);
    atomic_read_relaxed(&dev->dev_n_qp, &n_qp);
    if (OVS_UNLIKELY(vid < 0 || !dev->mp || !up || qid >= n_qp)) {
        return EAGAIN;
    }
    n = rte_vhost_dequeue_burst(vid, VHOSTX_GUEST_TXQ(qid), dev->mp,
                                (struct rte_mbuf **) batch->packets,
                                NETDEV_MAX_BURST);
    if (!n) {
        return EAGAIN;
    }
    if (qfill) {
        /* DPDK returns the count in 32 bits, of which only the low 16 are
         * meaningful. */
        *qfill = (n == NETDEV_MAX_BURST
                  ? rte_vhost_rx_queue_count(vid, VHOSTX_GUEST_TXQ(qid))
                    & UINT16_MAX
                  : 0);
    }

    /* Frames longer than the MTU allows, or that did not fit in one mbuf,
     * are dropped: OVS works on single-segment packets. */
    batch->count = 0;
    for (int i = 0; i < n; i++) {
        struct rte_mbuf *m = (struct rte_mbuf *) batch->packets[i];

        if (OVS_UNLIKELY(m->nb_segs > 1 || m->pkt_len > dev->max_frame)) {
            n_oversize++;
            rte_pktmbuf_free(m);
            continue;
        }
        bytes += m->pkt_len;
        batch->packets[batch->count++] = (struct dp_packet *) m;
    }
    policer = ovsrcu_get(struct vhostx_policer *, &dev->ingress_policer);
    if (policer && batch->count) {
        int count = batch->count;

        n_policed = vhostx_police(policer,
                                  (struct rte_mbuf **) batch->packets,
                                  &count, &bytes, true);
        batch->count = count;
    }
    atomic_read_relaxed(&dev->first_rx_pending, &first_rx);
    if (OVS_UNLIKELY(first_rx)) {
        vhostx_note_first_rx(dev);
    }
    if (OVS_UNLIKELY(n_oversize)) {
        VLOG_WARN_RL(&rl, "%s: dropped %d frames longer than the MTU "
                     "(%d) allows", netdev_get_name(&dev->up), n_oversize,
                     dev->mtu);
        vhostx_counter_add(&q->stats.oversize, n_oversize);
        vhostx_counter_add(&q->stats.dropped, n_oversize);
    }
    if (n_policed) {
        vhostx_counter_add(&q->stats.policed, n_policed);
        vhostx_counter_add(&q->stats.dropped, n_policed);
    }
    vhostx_counter_add(&q->stats.packets, batch->count);
    vhostx_counter_add(&q->stats.bytes, bytes);
    if (!batch->count) {
        return EAGAIN;
    }
    dp_packet_batch_init_packet_fields(batch);
    return 0;
}

/* Returns an mbuf that holds a copy of 'packet', or NULL if 'packet' does
 * not fit in one of our mbufs or the pool is empty. */
static struct rte_mbuf *
vhostx_copy_to_mbuf(struct rte_mempool *mp, struct dp_packet *packet)
{
    uint32_t size = dp_packet_size(packet);
    struct rte_mbuf *m;

    m = rte_pktmbuf_alloc(mp);
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

/* Frees the packets of 'batch' and the 'n_copies' mbufs in 'copies'.  The
 * vhost library copies packets into guest memory, so all of them are ours
 * to free once the burst is over.  If 'all_dpdk', every packet of 'batch'
 * is an mbuf, and they are freed in bulk. */
static void
vhostx_free_sent(struct dp_packet_batch *batch, bool all_dpdk,
                 struct rte_mbuf **copies, int n_copies)
{
    if (n_copies) {
        rte_pktmbuf_free_bulk(copies, n_copies);
    }
    if (OVS_LIKELY(all_dpdk)) {
        rte_pktmbuf_free_bulk((struct rte_mbuf **) batch->packets,
                              batch->count);
    } else {
        dp_packet_delete_batch(batch, true);
    }
}

int
netdev_vhostx_send(struct netdev *netdev, int qid,
                   struct dp_packet_batch *batch,
                   bool concurrent_txq OVS_UNUSED)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    struct rte_mbuf *pkts[NETDEV_MAX_BURST];
    struct rte_mbuf *copies[NETDEV_MAX_BURST];
    int n_pkts = 0, n_copies = 0, n_dropped = 0, n_oversize = 0;
    int vid = vhostx_get_vid(dev);
    bool all_dpdk = true;
    struct vhostx_policer *policer;
    struct dp_packet *packet;
    int n_policed = 0;
    struct vhostx_queue *q;
    uint64_t bytes = 0;
    int retries = 0;
    int sent = 0;
    int qp, n_qp;
    bool up;

    if (OVS_UNLIKELY(qid >= dev->n_txq_map)) {
        qid %= dev->n_txq_map;
    }
    atomic_read_relaxed(&dev->txq_map[qid], &qp);
    atomic_read_relaxed(&dev->admin_up, &up);
    atomic_read_relaxed(&dev->dev_n_qp, &n_qp);
    if (OVS_UNLIKELY(vid < 0 || qp < 0 || qp >= n_qp || !up)) {
        /* No guest, no enabled ring, or the port is down: everything is
         * dropped, and counted on the first queue. */
        q = &dev->txqs[0];
        rte_spinlock_lock(&q->tx_lock);
        vhostx_counter_add(&q->stats.dropped, dp_packet_batch_size(batch));
        rte_spinlock_unlock(&q->tx_lock);
        dp_packet_delete_batch(batch, true);
        return 0;
    }
    q = &dev->txqs[qp];

    dp_packet_batch_apply_cutlen(batch);
    DP_PACKET_BATCH_FOR_EACH (i, packet, batch) {
        struct rte_mbuf *m;

        if (OVS_UNLIKELY(packet->source != DPBUF_DPDK)) {
            all_dpdk = false;
        }
        if (OVS_UNLIKELY(dp_packet_size(packet) > dev->max_frame)) {
            n_oversize++;
            continue;
        }
        if (OVS_LIKELY(packet->source == DPBUF_DPDK)) {
            m = (struct rte_mbuf *) packet;
        } else {
            /* A port without a pool (no guest has attached yet, or
             * hugepages ran out, see vhostx-recover.c) cannot copy. */
            COVERAGE_INC(vhostx_tx_copy);
            m = dev->mp ? vhostx_copy_to_mbuf(dev->mp, packet) : NULL;
            if (!m) {
                n_dropped++;
                continue;
            }
            copies[n_copies++] = m;
        }
        pkts[n_pkts++] = m;
    }

    /* The policer drops from 'pkts' only: the batch and the copies are
     * freed below either way. */
    policer = ovsrcu_get(struct vhostx_policer *, &dev->egress_policer);
    if (policer && n_pkts) {
        n_policed = vhostx_police(policer, pkts, &n_pkts, NULL, false);
    }

    /* Several OVS tx queues may map onto one vring: the lock is per vring
     * and, with as many vrings as PMD threads, never contended. */
    if (OVS_UNLIKELY(!rte_spinlock_trylock(&q->tx_lock))) {
        COVERAGE_INC(vhostx_tx_contention);
        rte_spinlock_lock(&q->tx_lock);
    }
    if (OVS_LIKELY(n_pkts)) {
        int guest_rxq = VHOSTX_GUEST_RXQ(qp);

        for (;;) {
            int n = rte_vhost_enqueue_burst(vid, guest_rxq, pkts + sent,
                                            n_pkts - sent);
            int max_retries;

            sent += n;
            if (OVS_LIKELY(sent == n_pkts) || !n) {
                /* All sent, or a full ring that the guest did not drain
                 * since the last try: retrying now would only spin. */
                break;
            }
            atomic_read_relaxed(&dev->tx_retries_max, &max_retries);
            if (retries >= max_retries) {
                break;
            }
            retries++;
        }
        for (int i = 0; i < sent; i++) {
            bytes += rte_pktmbuf_pkt_len(pkts[i]);
        }
        if (OVS_UNLIKELY(sent < n_pkts)) {
            COVERAGE_INC(vhostx_tx_ring_full);
        }
        vhostx_counter_add(&q->stats.packets, sent);
        vhostx_counter_add(&q->stats.bytes, bytes);
        if (OVS_UNLIKELY(retries)) {
            vhostx_counter_add(&q->stats.retries, retries);
        }
    }
    n_dropped += n_oversize + n_policed + n_pkts - sent;
    if (OVS_UNLIKELY(n_dropped)) {
        vhostx_counter_add(&q->stats.dropped, n_dropped);
        if (n_oversize) {
            vhostx_counter_add(&q->stats.oversize, n_oversize);
        }
        if (n_policed) {
            vhostx_counter_add(&q->stats.policed, n_policed);
        }
    }
    rte_spinlock_unlock(&q->tx_lock);

    if (OVS_UNLIKELY(n_oversize)) {
        VLOG_WARN_RL(&rl, "%s: dropped %d packets longer than the MTU (%d) "
                     "allows", netdev_get_name(netdev), n_oversize,
                     dev->mtu);
    }
    vhostx_free_sent(batch, all_dpdk, copies, n_copies);
    return 0;
}
