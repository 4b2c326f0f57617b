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

/* vhost-user device lifecycle: the DPDK vhost callbacks, which record what
 * happened, and netdev_vhostx_run()'s half, which applies it.  Sockets are
 * registered with DPDK by vhostx-socket.c, with the callbacks given here. */

#include <config.h>

#include <errno.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_vhost.h>

#include "vhostx-private.h"
#include "coverage.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/vlog.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "seq.h"
#include "timeval.h"

VLOG_DEFINE_THIS_MODULE(vhostx_events);

COVERAGE_DEFINE(vhostx_new_device);
COVERAGE_DEFINE(vhostx_destroy_device);
COVERAGE_DEFINE(vhostx_unknown_device);
COVERAGE_DEFINE(vhostx_handover);

/* The vhost callbacks run in DPDK's vhost thread, which never publishes
 * what it adds to OVS coverage counters: only OVS threads do, from
 * poll_block() or coverage_try_clear().  The callbacks count in
 * 'cb_counts' instead, and the main thread adds what is new to the
 * coverage counters in vhostx_events_run().  These are bare counts that
 * publish nothing else, so relaxed order is enough: the main thread may
 * see an increment one run late, never lose it. */
enum vhostx_cb_event {
    CB_NEW_DEVICE,
    CB_DESTROY_DEVICE,
    CB_UNKNOWN_DEVICE,
    CB_HANDOVER,
    CB_N_EVENTS
};
static atomic_uint64_t cb_counts[CB_N_EVENTS];

static void
vhostx_cb_count(enum vhostx_cb_event event)
{
    uint64_t orig;

    atomic_add_relaxed(&cb_counts[event], 1, &orig);
}

/* Adds to the coverage counters what the callbacks counted since the last
 * call.  Main thread only. */
static void
vhostx_cb_coverage_flush(void)
{
    static uint64_t published[CB_N_EVENTS];

    for (int i = 0; i < CB_N_EVENTS; i++) {
        unsigned int delta;
        uint64_t n;

        atomic_read_relaxed(&cb_counts[i], &n);
        delta = n - published[i];
        if (!delta) {
            continue;
        }
        published[i] = n;
        switch ((enum vhostx_cb_event) i) {
        case CB_NEW_DEVICE:
            COVERAGE_ADD(vhostx_new_device, delta);
            break;
        case CB_DESTROY_DEVICE:
            COVERAGE_ADD(vhostx_destroy_device, delta);
            break;
        case CB_UNKNOWN_DEVICE:
            COVERAGE_ADD(vhostx_unknown_device, delta);
            break;
        case CB_HANDOVER:
            COVERAGE_ADD(vhostx_handover, delta);
            break;
        case CB_N_EVENTS:
        default:
            OVS_NOT_REACHED();
        }
    }
}

/* Lifecycle messages can repeat as fast as a guest restarts. */
static struct vlog_rate_limit lifecycle_rl = VLOG_RATE_LIMIT_INIT(10, 20);

/* The client role's reconnection time, one line per reconnection: allowed
 * more, as an operator measures with them, but still bounded. */
static struct vlog_rate_limit reconnect_rl = VLOG_RATE_LIMIT_INIT(30, 60);

/* Changed whenever a vhost callback records an event. */
static struct seq *vhostx_event_seq;
static uint64_t vhostx_event_seqno;

/* Returns the device whose socket is the one of vhost device 'vid', or
 * NULL. */
static struct netdev_vhostx *
vhostx_find_by_vid(int vid)
    OVS_REQUIRES(vhostx_mutex)
{
    char ifname[PATH_MAX];
    struct netdev_vhostx *dev;

    if (rte_vhost_get_ifname(vid, ifname, sizeof ifname) < 0) {
        return NULL;
    }
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        if (dev->sock_path && !strcmp(dev->sock_path, ifname)) {
            return dev;
        }
    }
    return NULL;
}

static void
vhostx_record_event(struct netdev_vhostx *dev)
    OVS_REQUIRES(vhostx_mutex)
{
    atomic_store(&dev->event_pending, true);
    seq_change(vhostx_event_seq);
}

static void
vhostx_rings_clear(struct vhostx_rings *rings, int vid)
{
    memset(rings, 0, sizeof *rings);
    rings->vid = vid;
}

static int
vhostx_new_device(int vid)
{
    struct netdev_vhostx *dev;

    vhostx_cb_count(CB_NEW_DEVICE);
    ovs_mutex_lock(&vhostx_mutex);
    dev = vhostx_find_by_vid(vid);
    if (dev) {
        int n_qp = rte_vhost_get_vring_num(vid) / 2;
        long long int now = time_msec();
        uint64_t features = 0;
        int old_vid;

        rte_vhost_get_negotiated_features(vid, &features);
        atomic_read(&dev->vid, &old_vid);

        /* The rings this device enabled may have been recorded as those of
         * a second connection. */
        if (dev->rings.vid != vid && dev->next_rings.vid == vid) {
            dev->rings = dev->next_rings;
            vhostx_rings_clear(&dev->next_rings, -1);
        }

        atomic_store(&dev->dev_n_qp,
                     MAX(1, MIN(n_qp, VHOSTX_MAX_QUEUE_PAIRS)));
        atomic_store(&dev->dev_numa, rte_vhost_get_numa_node(vid));
        atomic_store(&dev->dev_features, features);
        atomic_store(&dev->attach_us, time_usec());
        atomic_store(&dev->first_rx_pending, true);
        /* From here on the datapath uses the new device.  If another one was
         * attached (a second connection on a server socket, e.g. the
         * destination of a live migration), this hands the port over: its
         * configuration, counters and queue mapping stay.  Release order:
         * a PMD thread that loads this vid (with acquire) sees the queue
         * count and features stored above. */
        atomic_store_explicit(&dev->vid, vid, memory_order_release);
        dev->attach_seq++;

        if (old_vid >= 0 && old_vid != vid) {
            vhostx_cb_count(CB_HANDOVER);
            dev->n_handovers++;
            VLOG_INFO_RL(&lifecycle_rl, "%s: handed over from vhost device "
                         "%d to %d", netdev_get_name(&dev->up), old_vid, vid);
        } else {
            if (dev->n_attach++) {
                dev->n_reconnects++;
            }
            if (dev->detach_ms) {
                dev->last_downtime_ms = now - dev->detach_ms;
            }
            if (dev->sock_appeared_ms) {
                dev->last_reconnect_ms = now - dev->sock_appeared_ms;
                dev->sock_appeared_ms = 0;
                VLOG_INFO_RL(&reconnect_rl, "%s: connected %lld ms after "
                             "the server socket appeared",
                             netdev_get_name(&dev->up),
                             dev->last_reconnect_ms);
            }
            VLOG_INFO_RL(&lifecycle_rl, "%s: vhost device %d attached, %d "
                         "queue pairs", netdev_get_name(&dev->up), vid, n_qp);
        }
        vhostx_record_event(dev);
    }
    ovs_mutex_unlock(&vhostx_mutex);

    if (!dev) {
        /* A socket that no port of ours has (any more): refuse the device,
         * so that DPDK does not mark it running.  DPDK asks again after
         * the guest's next message, and a port that takes the socket by
         * then gets it. */
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);

        vhostx_cb_count(CB_UNKNOWN_DEVICE);
        VLOG_WARN_RL(&rl, "vhost device %d: no dpdkvhostx port has its "
                     "socket: refused", vid);
        return -1;
    }
    return 0;
}

/* Returns the device that uses or used vhost device 'vid', or NULL.  Unlike
 * vhostx_find_by_vid() it finds a port whose socket is being closed. */
static struct netdev_vhostx *
vhostx_find_user_of_vid(int vid)
    OVS_REQUIRES(vhostx_mutex)
{
    struct netdev_vhostx *dev;

    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        int cur;

        atomic_read(&dev->vid, &cur);
        if (cur == vid || dev->rings.vid == vid
            || dev->next_rings.vid == vid) {
            return dev;
        }
    }
    return vhostx_find_by_vid(vid);
}

static void
vhostx_destroy_device(int vid)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct netdev_vhostx *dev;

    vhostx_cb_count(CB_DESTROY_DEVICE);
    ovs_mutex_lock(&vhostx_mutex);
    dev = vhostx_find_user_of_vid(vid);
    if (dev) {
        int cur;

        atomic_read(&dev->vid, &cur);
        if (cur == vid) {
            /* No new burst starts with 'vid' once this is visible; the
             * grace period below waits for those that loaded it before.
             * Relaxed order would do for the PMD threads (the grace period
             * orders their bursts before our return), but the main thread
             * must see -1 no later than the event below. */
            atomic_store_explicit(&dev->vid, -1, memory_order_release);
            dev->detach_ms = time_msec();
            VLOG_INFO_RL(&lifecycle_rl, "%s: vhost device %d detached",
                         netdev_get_name(&dev->up), vid);
        }
        if (dev->rings.vid == vid) {
            dev->rings = dev->next_rings;
            vhostx_rings_clear(&dev->next_rings, -1);
        } else if (dev->next_rings.vid == vid) {
            vhostx_rings_clear(&dev->next_rings, -1);
        }
        vhostx_record_event(dev);
    }
    ovs_mutex_unlock(&vhostx_mutex);

    /* DPDK frees the device's memory when we return.  A burst that loaded
     * 'vid' before it changed, even after a handover to another device,
     * may still use it until its thread's next quiescent state: wait for a
     * grace period, holding no lock of ours (see "Threads, locks and who
     * waits for whom" in vhostx-private.h).  ovsrcu_synchronize() leaves
     * this thread non-quiescent: restore the state it had, or DPDK's
     * vhost-events thread would hold up every grace period while it waits
     * for the next vhost-user message. */
    bool was_quiescent = ovsrcu_is_quiescent();

    ovsrcu_synchronize();
    if (was_quiescent) {
        ovsrcu_quiesce_start();
    }
}

static int
vhostx_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
    struct netdev_vhostx *dev;
    int qp = queue_id / 2;

    if (qp >= VHOSTX_MAX_QUEUE_PAIRS) {
        return 0;
    }
    ovs_mutex_lock(&vhostx_mutex);
    dev = vhostx_find_by_vid(vid);
    if (dev) {
        struct vhostx_rings *rings;

        if (dev->rings.vid == vid || dev->rings.vid < 0) {
            rings = &dev->rings;
        } else {
            rings = &dev->next_rings;
            if (rings->vid != vid) {
                vhostx_rings_clear(rings, vid);
            }
        }
        rings->vid = vid;
        /* An even ring is the guest's rx ring, which we transmit to. */
        if (queue_id % 2) {
            rings->guest_tx[qp] = enable != 0;
        } else {
            rings->guest_rx[qp] = enable != 0;
        }
        vhostx_record_event(dev);
        VLOG_DBG("%s: device %d vring %d %s", netdev_get_name(&dev->up),
                 vid, queue_id, enable ? "enabled" : "disabled");
    }
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

static int
vhostx_features_changed(int vid, uint64_t features)
{
    struct netdev_vhostx *dev;

    ovs_mutex_lock(&vhostx_mutex);
    dev = vhostx_find_by_vid(vid);
    if (dev) {
        int cur;

        atomic_read(&dev->vid, &cur);
        if (cur == vid) {
            atomic_store(&dev->dev_features, features);
            vhostx_record_event(dev);
        }
    }
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

/* A connection opened.  For a client socket the control thread watches
 * whether the server talks on it. */
static int
vhostx_new_connection(int vid)
{
    char ifname[PATH_MAX];

    if (!rte_vhost_get_ifname(vid, ifname, sizeof ifname)) {
        vhostx_ctl_connected(ifname, vid);
    }
    return 0;
}

/* A connection closed.  For a client socket the control thread connects
 * again. */
static void
vhostx_destroy_connection(int vid)
{
    char ifname[PATH_MAX];

    if (!rte_vhost_get_ifname(vid, ifname, sizeof ifname)) {
        vhostx_ctl_disconnected(ifname);
    }
}

static const struct rte_vhost_device_ops vhostx_ops = {
    .new_device = vhostx_new_device,
    .destroy_device = vhostx_destroy_device,
    .vring_state_changed = vhostx_vring_state_changed,
    .features_changed = vhostx_features_changed,
    .new_connection = vhostx_new_connection,
    .destroy_connection = vhostx_destroy_connection,
};

/* Called by the first PMD thread that receives from 'dev' after a device
 * attached: records how long that took. */
void
vhostx_note_first_rx(struct netdev_vhostx *dev)
{
    bool expected = true;

    if (atomic_compare_exchange_strong(&dev->first_rx_pending, &expected,
                                       false)) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(10, 20);
        long long int attach_us, latency;

        atomic_read(&dev->attach_us, &attach_us);
        latency = time_usec() - attach_us;
        atomic_store(&dev->first_rx_latency_us, latency);
        VLOG_INFO_RL(&rl, "%s: first packet from the guest %lld us after "
                     "it attached", netdev_get_name(&dev->up), latency);
    }
}

/* Starts the control thread.  Called once, after DPDK is initialized. */
int
vhostx_events_init(void)
{
    vhostx_event_seq = seq_create();
    vhostx_event_seqno = seq_read(vhostx_event_seq);
    vhostx_socket_set_ops(&vhostx_ops);
    vhostx_ctl_init();
    return 0;
}

/* Points each OVS transmit queue of 'dev' at a queue pair whose guest rx
 * ring is enabled, spreading them round robin, or at -1 if there is
 * none. */
void
vhostx_update_txq_map(struct netdev_vhostx *dev)
    OVS_REQUIRES(vhostx_mutex)
{
    int enabled[VHOSTX_MAX_QUEUE_PAIRS];
    int n_enabled = 0;
    int n_qp, vid;

    atomic_read(&dev->vid, &vid);
    atomic_read(&dev->dev_n_qp, &n_qp);
    if (vid >= 0 && dev->rings.vid == vid) {
        for (int i = 0; i < n_qp; i++) {
            if (dev->rings.guest_rx[i]) {
                enabled[n_enabled++] = i;
            }
        }
    }
    for (int i = 0; i < dev->n_txq_map; i++) {
        atomic_store_relaxed(&dev->txq_map[i],
                             n_enabled ? enabled[i % n_enabled] : -1);
    }
}

/* Tells dpif-netdev, through rxq_enabled(), which receive queues of 'dev'
 * to poll: those whose guest tx ring the attached device enabled. */
void
vhostx_update_rxq_enabled(struct netdev_vhostx *dev)
    OVS_REQUIRES(vhostx_mutex)
{
    int vid = vhostx_get_vid(dev);
    int n_qp;

    atomic_read_relaxed(&dev->dev_n_qp, &n_qp);
    for (int i = 0; i < VHOSTX_MAX_QUEUE_PAIRS; i++) {
        bool enabled = (vid >= 0 && dev->rings.vid == vid && i < n_qp
                        && dev->rings.guest_tx[i]);

        atomic_store_relaxed(&dev->rxqs[i].enabled, enabled);
    }
}

/* A device whose guest notifications the main thread is to turn off. */
struct vhostx_notify_req {
    struct netdev_vhostx *dev;
    int vid;
    long long int seq;          /* Its 'attach_seq'. */
};

/* Turns off guest notifications ("kicks") on every vring of device 'vid'
 * of 'dev' that they are not off on yet, as netdev-dpdk does: a PMD thread
 * polls the rings, so a guest that kicks us on every burst (an eventfd
 * write, a VM exit for a real guest) only slows itself down.  DPDK keeps
 * the setting of a vring across its being disabled and enabled again;
 * a new device starts with notifications on, and vrings that a device
 * sets up after it attached appear through vring_state_changed(), which
 * records an event that brings us back here.
 *
 * rte_vhost_enable_guest_notification() takes the vring's access lock,
 * which DPDK's vhost-events thread may hold while it waits for
 * vhostx_mutex in a callback: call this with none of our locks held.  The
 * device stays valid meanwhile, as destroy_device() waits for the main
 * thread to be quiescent.  Only the main thread calls this. */
static void
vhostx_disable_notifications(struct netdev_vhostx *dev,
                             const struct vhostx_notify_req *req)
    OVS_EXCLUDED(vhostx_mutex, dev->mutex)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);
    int vid = req->vid;
    int n_vrings = rte_vhost_get_vring_num(vid);

    /* DPDK reuses vids: a reconnecting guest often gets the same one. */
    if (dev->notify_seq != req->seq) {
        dev->notify_seq = req->seq;
        memset(dev->notify_off, 0, sizeof dev->notify_off);
    }
    n_vrings = MIN(n_vrings, 2 * VHOSTX_MAX_QUEUE_PAIRS);
    for (int q = 0; q < n_vrings; q++) {
        uint64_t bit = UINT64_C(1) << (q % 64);

        if (dev->notify_off[q / 64] & bit) {
            continue;
        }
        if (rte_vhost_enable_guest_notification(vid, q, 0)) {
            /* DPDK has no such vring (yet): try again at the next event. */
            VLOG_DBG_RL(&rl, "%s: could not turn off guest notifications "
                        "on vring %d of vhost device %d",
                        netdev_get_name(&dev->up), q, vid);
        } else {
            dev->notify_off[q / 64] |= bit;
        }
    }
}

/* Appends to 's' whether guest notifications are off on each vring of the
 * device attached to 'dev': what the provider asked for ("off") and, for a
 * split ring without VIRTIO_RING_F_EVENT_IDX, what the guest sees in the
 * ring's used flags ("guest sees off").  Reads guest memory, safely
 * because only the main thread calls this (see
 * vhostx_disable_notifications()). */
void
vhostx_format_notify(struct netdev_vhostx *dev, struct ds *s)
    OVS_REQUIRES(vhostx_mutex)
{
    int vid = vhostx_get_vid(dev);
    uint64_t features;
    int n_vrings;

    if (vid < 0) {
        return;
    }
    atomic_read_relaxed(&dev->dev_features, &features);
    n_vrings = MIN(rte_vhost_get_vring_num(vid), 2 * VHOSTX_MAX_QUEUE_PAIRS);
    ds_put_cstr(s, "  guest notifications:");
    for (int q = 0; q < n_vrings; q++) {
        bool asked = (dev->notify_seq == dev->attach_seq
                      && dev->notify_off[q / 64] & (UINT64_C(1) << (q % 64)));
        struct rte_vhost_vring vring;
        const char *seen = "";

        if (!(features & ((UINT64_C(1) << VIRTIO_F_RING_PACKED)
                          | (UINT64_C(1) << VIRTIO_RING_F_EVENT_IDX)))
            && !rte_vhost_get_vhost_vring(vid, q, &vring) && vring.used) {
            seen = (vring.used->flags & VRING_USED_F_NO_NOTIFY
                    ? " (guest sees off)" : " (guest sees on)");
        }
        ds_put_format(s, " %d %s%s%s", q, asked ? "off" : "on", seen,
                      q + 1 < n_vrings ? "," : "");
    }
    ds_put_char(s, '\n');
}

/* Applies the events that vhost callbacks recorded: link state follows
 * whether a vhost device is attached, the transmit queues follow the rings
 * the guest enabled, and a change of queue count or NUMA node asks for a
 * reconfiguration.  A device that comes back with the same queue count and
 * NUMA node needs none, so that polling starts at once. */
void
vhostx_events_run(void)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct vhostx_notify_req *reqs = NULL;
    size_t n_reqs = 0, allocated = 0;
    struct netdev_vhostx *dev;

    if (!vhostx_event_seq) {
        return;
    }
    vhostx_event_seqno = seq_read(vhostx_event_seq);
    vhostx_cb_coverage_flush();

    ovs_mutex_lock(&vhostx_mutex);
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        bool pending;
        int vid;

        atomic_read(&dev->event_pending, &pending);
        if (!pending) {
            continue;
        }
        atomic_store(&dev->event_pending, false);
        atomic_read(&dev->vid, &vid);

        ovs_mutex_lock(&dev->mutex);
        if (vid >= 0) {
            int n_qp, numa;

            atomic_read(&dev->dev_n_qp, &n_qp);
            atomic_read(&dev->dev_numa, &numa);
            if (numa < 0) {
                numa = dev->requested_numa;
            }
            if (n_qp != dev->requested_n_rxq
                || numa != dev->requested_numa
                || (!dev->mp && !dev->mp_fault)) {
                /* A guest's first attach also gets the port its mbufs;
                 * if that failed, vhostx-recover.c tries again. */
                dev->requested_n_rxq = n_qp;
                dev->requested_numa = numa;
                netdev_request_reconfigure(&dev->up);
            }
        }
        vhostx_update_txq_map(dev);
        vhostx_update_rxq_enabled(dev);
        if (vid >= 0) {
            if (n_reqs >= allocated) {
                reqs = x2nrealloc(reqs, &allocated, sizeof *reqs);
            }
            reqs[n_reqs].dev = dev;
            reqs[n_reqs].vid = vid;
            reqs[n_reqs++].seq = dev->attach_seq;
        }
        if (dev->link_up != (vid >= 0)) {
            dev->link_up = vid >= 0;
            dev->link_resets++;
            VLOG_INFO_RL(&lifecycle_rl, "%s: link %s",
                         netdev_get_name(&dev->up),
                         dev->link_up ? "up" : "down");
        }
        netdev_change_seq_changed(&dev->up);
        ovs_mutex_unlock(&dev->mutex);
    }
    ovs_mutex_unlock(&vhostx_mutex);

    /* Only the main thread destroys ports, so 'dev' stays. */
    for (size_t i = 0; i < n_reqs; i++) {
        vhostx_disable_notifications(reqs[i].dev, &reqs[i]);
    }
    free(reqs);
}

void
vhostx_events_wait(void)
{
    if (vhostx_event_seq) {
        seq_wait(vhostx_event_seq, vhostx_event_seqno);
    }
}
