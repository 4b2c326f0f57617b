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

/* vhost-user device lifecycle: the DPDK vhost callbacks, registration of
 * sockets with DPDK and the control thread that unregisters them. */

#include <config.h>

#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include "vhostx-private.h"
#include "coverage.h"
#include "openvswitch/vlog.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "seq.h"

VLOG_DEFINE_THIS_MODULE(vhostx_events);

COVERAGE_DEFINE(vhostx_new_device);
COVERAGE_DEFINE(vhostx_destroy_device);
COVERAGE_DEFINE(vhostx_unknown_device);

/* Lifecycle messages can repeat as fast as a guest restarts. */
static struct vlog_rate_limit lifecycle_rl = VLOG_RATE_LIMIT_INIT(10, 20);

struct ovs_mutex vhostx_mutex = OVS_MUTEX_INITIALIZER;
struct ovs_list vhostx_devs OVS_GUARDED_BY(vhostx_mutex)
    = OVS_LIST_INITIALIZER(&vhostx_devs);

/* Changed whenever a vhost callback records an event. */
static struct seq *vhostx_event_seq;
static uint64_t vhostx_event_seqno;

/* Features that we do not offer: we do not handle segmentation or
 * checksum offload from the guest. */
#define VHOSTX_DISABLED_FEATURES ((1ULL << VIRTIO_NET_F_HOST_TSO4)   \
                                  | (1ULL << VIRTIO_NET_F_HOST_TSO6) \
                                  | (1ULL << VIRTIO_NET_F_HOST_ECN)  \
                                  | (1ULL << VIRTIO_NET_F_HOST_UFO)  \
                                  | (1ULL << VIRTIO_NET_F_CSUM))

/* The control thread's work: socket paths to unregister, in order. */
struct vhostx_ctl_req {
    struct ovs_list node;
    char *path;
};

static struct ovs_mutex ctl_mutex = OVS_MUTEX_INITIALIZER;
static pthread_cond_t ctl_cond = PTHREAD_COND_INITIALIZER;
static struct ovs_list ctl_reqs OVS_GUARDED_BY(ctl_mutex)
    = OVS_LIST_INITIALIZER(&ctl_reqs);
static bool ctl_busy OVS_GUARDED_BY(ctl_mutex);

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

/* Waits until no datapath thread is in a burst on 'dev'.  The caller has
 * already made 'vid' -1, so no new burst starts. */
static void
vhostx_wait_quiet(struct netdev_vhostx *dev)
{
    for (int i = 0; i < VHOSTX_MAX_QUEUE_PAIRS; i++) {
        while (atomic_count_get(&dev->rxqs[i].busy)
               || atomic_count_get(&dev->txqs[i].busy)) {
            rte_pause();
        }
    }
}

static int
vhostx_new_device(int vid)
{
    struct netdev_vhostx *dev;

    COVERAGE_INC(vhostx_new_device);
    ovs_mutex_lock(&vhostx_mutex);
    dev = vhostx_find_by_vid(vid);
    if (dev) {
        int n_qp = rte_vhost_get_vring_num(vid) / 2;
        uint64_t features = 0;

        rte_vhost_get_negotiated_features(vid, &features);
        atomic_store(&dev->dev_n_qp,
                     MAX(1, MIN(n_qp, VHOSTX_MAX_QUEUE_PAIRS)));
        atomic_store(&dev->dev_numa, rte_vhost_get_numa_node(vid));
        atomic_store(&dev->dev_features, features);
        atomic_store(&dev->vid, vid);
        vhostx_record_event(dev);
        VLOG_INFO_RL(&lifecycle_rl, "%s: vhost device %d attached, %d "
                     "queue pairs", netdev_get_name(&dev->up), vid, n_qp);
    } else {
        COVERAGE_INC(vhostx_unknown_device);
    }
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

static void
vhostx_destroy_device(int vid)
{
    struct netdev_vhostx *dev;

    COVERAGE_INC(vhostx_destroy_device);
    ovs_mutex_lock(&vhostx_mutex);
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        int cur;

        atomic_read(&dev->vid, &cur);
        if (cur == vid) {
            atomic_store(&dev->vid, -1);
            vhostx_wait_quiet(dev);
            for (int i = 0; i < VHOSTX_MAX_QUEUE_PAIRS; i++) {
                atomic_store_relaxed(&dev->rxqs[i].enabled, false);
                atomic_store_relaxed(&dev->txqs[i].enabled, false);
            }
            vhostx_record_event(dev);
            VLOG_INFO_RL(&lifecycle_rl, "%s: vhost device %d detached",
                         netdev_get_name(&dev->up), vid);
            break;
        }
    }
    ovs_mutex_unlock(&vhostx_mutex);
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
        /* An even ring is the guest's rx ring, which we transmit to. */
        struct vhostx_queue *q = (queue_id % 2 ? &dev->rxqs[qp]
                                  : &dev->txqs[qp]);

        atomic_store(&q->enabled, enable != 0);
        vhostx_record_event(dev);
        VLOG_DBG("%s: vring %d %s", netdev_get_name(&dev->up), queue_id,
                 enable ? "enabled" : "disabled");
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
        atomic_store(&dev->dev_features, features);
        vhostx_record_event(dev);
    }
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

static const struct rte_vhost_device_ops vhostx_ops = {
    .new_device = vhostx_new_device,
    .destroy_device = vhostx_destroy_device,
    .vring_state_changed = vhostx_vring_state_changed,
    .features_changed = vhostx_features_changed,
};

/* Sets the group and permissions of the server socket of 'cfg'.  Refuses
 * anything but a socket, and never follows a symbolic link. */
int
vhostx_set_sock_perms(const struct vhostx_sock_cfg *cfg, char **errp)
{
    struct stat st;

    if (lstat(cfg->path, &st) || !S_ISSOCK(st.st_mode)) {
        *errp = xasprintf("%s is not a socket after creating it", cfg->path);
        return EEXIST;
    }
    if (cfg->gid != (gid_t) -1 && lchown(cfg->path, -1, cfg->gid)) {
        *errp = xasprintf("could not set the group of %s to %u (%s)",
                          cfg->path, (unsigned int) cfg->gid,
                          ovs_strerror(errno));
        return errno;
    }
    if (chmod(cfg->path, cfg->mode)) {
        *errp = xasprintf("could not set the mode of %s to %04o (%s)",
                          cfg->path, cfg->mode, ovs_strerror(errno));
        return errno;
    }
    return 0;
}

/* Registers the socket of 'cfg' with DPDK and starts listening on it
 * (server role) or connecting to it (client role).  Returns 0 if
 * successful, otherwise a positive errno value and an error message in
 * '*errp', which the caller must free. */
int
vhostx_driver_start(const struct vhostx_sock_cfg *cfg, char **errp)
    OVS_EXCLUDED(vhostx_mutex)
{
    uint64_t flags = cfg->client ? RTE_VHOST_USER_CLIENT : 0;
    const char *path = cfg->path;
    const char *what;
    int err;

    /* A port using the same path may have just been deleted or changed:
     * its registration must be gone before we make ours. */
    vhostx_ctl_flush();

    errno = 0;
    what = "register";
    err = rte_vhost_driver_register(path, flags);
    if (!err) {
        what = "configure features of";
        err = rte_vhost_driver_disable_features(path,
                                                VHOSTX_DISABLED_FEATURES);
    }
    if (!err) {
        what = "register callbacks for";
        err = rte_vhost_driver_callback_register(path, &vhostx_ops);
    }
    if (!err) {
        what = "start";
        err = rte_vhost_driver_start(path);
    }
    if (err) {
        /* DPDK returns -1 for most failures and leaves errno set by the
         * system call that failed, if any. */
        int error = errno ? errno : EINVAL;

        *errp = xasprintf("could not %s vhost-user socket %s (%s)",
                          what, path, ovs_strerror(error));
        if (strcmp(what, "register")) {
            rte_vhost_driver_unregister(path);
        }
        return error;
    }
    if (!cfg->client) {
        err = vhostx_set_sock_perms(cfg, errp);
        if (err) {
            rte_vhost_driver_unregister(path);
            return err;
        }
    }
    return 0;
}

/* Hands 'path' to the control thread, which unregisters it from DPDK and
 * frees it.  Safe to call with OVS locks held. */
void
vhostx_driver_stop(char *path)
{
    struct vhostx_ctl_req *req = xmalloc(sizeof *req);

    req->path = path;
    ovs_mutex_lock(&ctl_mutex);
    ovs_list_push_back(&ctl_reqs, &req->node);
    xpthread_cond_broadcast(&ctl_cond);
    ovs_mutex_unlock(&ctl_mutex);
}

/* Waits until the control thread has unregistered every socket handed to
 * it so far.  The caller must not hold vhostx_mutex: unregistering may
 * wait for a vhost callback, which takes it. */
void
vhostx_ctl_flush(void)
    OVS_EXCLUDED(vhostx_mutex, ctl_mutex)
{
    ovs_mutex_lock(&ctl_mutex);
    while (!ovs_list_is_empty(&ctl_reqs) || ctl_busy) {
        ovs_mutex_cond_wait(&ctl_cond, &ctl_mutex);
    }
    ovs_mutex_unlock(&ctl_mutex);
}

static void *
vhostx_ctl_main(void *arg OVS_UNUSED)
{
    /* This thread never touches RCU-protected data, and it blocks. */
    ovsrcu_quiesce_start();

    ovs_mutex_lock(&ctl_mutex);
    for (;;) {
        struct vhostx_ctl_req *req;

        if (ovs_list_is_empty(&ctl_reqs)) {
            ovs_mutex_cond_wait(&ctl_cond, &ctl_mutex);
            continue;
        }
        req = CONTAINER_OF(ovs_list_pop_front(&ctl_reqs),
                           struct vhostx_ctl_req, node);
        ctl_busy = true;
        ovs_mutex_unlock(&ctl_mutex);

        if (rte_vhost_driver_unregister(req->path)) {
            VLOG_WARN("could not unregister vhost-user socket %s",
                      req->path);
        } else {
            VLOG_DBG("unregistered vhost-user socket %s", req->path);
        }
        free(req->path);
        free(req);

        ovs_mutex_lock(&ctl_mutex);
        ctl_busy = false;
        xpthread_cond_broadcast(&ctl_cond);
    }
    OVS_NOT_REACHED();
}

/* Starts the control thread.  Called once, after DPDK is initialized. */
int
vhostx_events_init(void)
{
    vhostx_event_seq = seq_create();
    vhostx_event_seqno = seq_read(vhostx_event_seq);
    ovs_thread_create("vhostx_ctl", vhostx_ctl_main, NULL);
    return 0;
}

/* Points each OVS transmit queue of 'dev' at a queue pair whose guest rx
 * ring is enabled, spreading them round robin, or at -1 if there is
 * none. */
void
vhostx_update_txq_map(struct netdev_vhostx *dev)
    OVS_REQUIRES(dev->mutex)
{
    int enabled[VHOSTX_MAX_QUEUE_PAIRS];
    int n_enabled = 0;
    int n_qp;

    atomic_read(&dev->dev_n_qp, &n_qp);
    for (int i = 0; i < n_qp; i++) {
        bool on;

        atomic_read_relaxed(&dev->txqs[i].enabled, &on);
        if (on) {
            enabled[n_enabled++] = i;
        }
    }
    for (int i = 0; i < dev->n_txq_map; i++) {
        atomic_store_relaxed(&dev->txq_map[i],
                             n_enabled ? enabled[i % n_enabled] : -1);
    }
}

/* Applies the events that vhost callbacks recorded: link state follows
 * whether a vhost device is attached, the transmit queues follow the rings
 * the guest enabled, and a change of queue count or NUMA node asks for a
 * reconfiguration. */
void
vhostx_events_run(void)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct netdev_vhostx *dev;

    if (!vhostx_event_seq) {
        return;
    }
    vhostx_event_seqno = seq_read(vhostx_event_seq);

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
                || numa != dev->requested_numa) {
                dev->requested_n_rxq = n_qp;
                dev->requested_numa = numa;
                netdev_request_reconfigure(&dev->up);
            }
        }
        vhostx_update_txq_map(dev);
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
}

void
vhostx_events_wait(void)
{
    if (vhostx_event_seq) {
        seq_wait(vhostx_event_seq, vhostx_event_seqno);
    }
}
