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
        atomic_store(&dev->vid, vid);
        vhostx_record_event(dev);
        VLOG_INFO_RL(&lifecycle_rl, "%s: vhost device %d attached",
                     netdev_get_name(&dev->up), vid);
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
            vhostx_record_event(dev);
            VLOG_INFO_RL(&lifecycle_rl, "%s: vhost device %d detached",
                         netdev_get_name(&dev->up), vid);
            break;
        }
    }
    ovs_mutex_unlock(&vhostx_mutex);
}

static int
vhostx_vring_state_changed(int vid OVS_UNUSED, uint16_t queue_id OVS_UNUSED,
                           int enable OVS_UNUSED)
{
    /* DPDK does not dequeue from or enqueue to a disabled vring, so there is
     * nothing to record while a device has a single queue pair. */
    return 0;
}

static const struct rte_vhost_device_ops vhostx_ops = {
    .new_device = vhostx_new_device,
    .destroy_device = vhostx_destroy_device,
    .vring_state_changed = vhostx_vring_state_changed,
};

/* Registers the server socket at 'path' with DPDK and starts listening.
 * Returns 0 if successful, otherwise a positive errno value and an error
 * message in '*errp', which the caller must free. */
int
vhostx_driver_start(const char *path, char **errp)
    OVS_EXCLUDED(vhostx_mutex)
{
    const char *what;
    int err;

    /* A port of the same name may have just been deleted: its socket must
     * be gone before we create it again. */
    vhostx_ctl_flush();

    errno = 0;
    what = "register";
    err = rte_vhost_driver_register(path, 0);
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

/* Applies the events that vhost callbacks recorded: the link state of each
 * device follows whether a vhost device is attached. */
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
        if (dev->link_up != (vid >= 0)) {
            dev->link_up = vid >= 0;
            dev->link_resets++;
            if (vid >= 0) {
                int numa = rte_vhost_get_numa_node(vid);

                if (numa >= 0) {
                    dev->numa_id = numa;
                }
            }
            netdev_change_seq_changed(&dev->up);
            VLOG_INFO_RL(&lifecycle_rl, "%s: link %s",
                         netdev_get_name(&dev->up),
                         dev->link_up ? "up" : "down");
        }
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
