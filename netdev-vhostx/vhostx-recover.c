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

/* Recovery from faults around a port that its peer does not cause.  The
 * main thread checks once a second, from netdev_vhostx_run():
 *
 *   - Whether each server socket's file is still ours.  If an operator or a
 *     clean-up script removed it (or put something else at its path), no
 *     guest could connect any more.  A guest connected through it keeps its
 *     link; once none is connected, the port creates its socket again.  A
 *     file that is not ours stays where it is: the port says so and waits
 *     for the path to be free.
 *
 *   - Whether each port with a guest attached has mbufs.  A port gets them
 *     when a guest first attaches; if hugepage memory is exhausted then,
 *     the port stays, says why (log, status, error column) and tries again
 *     after 1, 2, 4 and then every 8 seconds, until memory is free.  The
 *     guest's link is up meanwhile: OVS sends it the packets that are
 *     already in mbufs (those received from other DPDK ports) and drops,
 *     counted, those it would have to copy into mbufs of ours; what the
 *     guest sends waits in its ring.
 *
 * Both faults show in the Interface's status ('socket-error',
 * 'mbuf-error') and error column while they last. */

#include <config.h>

#include <errno.h>

#include "vhostx-private.h"
#include "coverage.h"
#include "netdev.h"
#include "openvswitch/vlog.h"
#include "openvswitch/poll-loop.h"
#include "sset.h"
#include "timeval.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(vhostx_recover);

COVERAGE_DEFINE(vhostx_socket_recreated);
COVERAGE_DEFINE(vhostx_socket_recreate_failed);
COVERAGE_DEFINE(vhostx_mbuf_retry);

/* How often the main thread checks, in milliseconds. */
#define CHECK_INTERVAL 1000

/* Backoff between attempts to get mbufs, in milliseconds. */
#define MP_BACKOFF_MIN 1000
#define MP_BACKOFF_MAX 8000

static long long int next_check;

/* Records that 'dev', with a guest attached, could not get mbufs, because
 * of 'msg', and schedules the next attempt. */
void
vhostx_note_mp_fault(struct netdev_vhostx *dev, const char *msg)
    OVS_REQUIRES(dev->mutex)
{
    const char *name = netdev_get_name(&dev->up);

    if (!dev->mp_fault || strcmp(dev->mp_fault, msg)) {
        VLOG_WARN("%s: %s; the port stays and tries again until memory is "
                  "free", name, msg);
        free(dev->mp_fault);
        dev->mp_fault = xstrdup(msg);
        dev->mp_backoff_ms = MP_BACKOFF_MIN;
        netdev_change_seq_changed(&dev->up);
    } else {
        dev->mp_backoff_ms = MIN(dev->mp_backoff_ms * 2, MP_BACKOFF_MAX);
    }
    dev->mp_retry_ms = time_msec() + dev->mp_backoff_ms;
}

/* Tries again to get mbufs for 'dev', if it is time to.  The pool is made
 * here, in the main thread, so that a failing attempt does not make
 * dpif-netdev reconfigure its threads; once there is one, reconfigure()
 * picks it up. */
static void
vhostx_retry_mempool(struct netdev_vhostx *dev, long long int now)
    OVS_REQUIRES(dev->mutex)
{
    char *msg = NULL;
    int vid;

    atomic_read(&dev->vid, &vid);
    if (dev->mp || !dev->mp_fault || vid < 0 || now < dev->mp_retry_ms) {
        return;
    }
    COVERAGE_INC(vhostx_mbuf_retry);
    if (vhostx_mempool_get(dev->requested_numa, dev->requested_mtu, &msg)) {
        VLOG_INFO("%s: got mbufs after hugepage memory was exhausted",
                  netdev_get_name(&dev->up));
        dev->mp_retry_ms = LLONG_MAX;
        netdev_request_reconfigure(&dev->up);
    } else {
        vhostx_note_mp_fault(dev, msg);
        free(msg);
    }
}

/* Returns true if 'dev' is a server whose socket file is gone or replaced
 * and no guest is connected, so that it should create its socket again.
 * Records the fault for a connected guest. */
static bool
vhostx_sock_lost(struct netdev_vhostx *dev)
    OVS_REQUIRES(vhostx_mutex, dev->mutex)
{
    const char *name = netdev_get_name(&dev->up);
    struct vhostx_sock_id now;
    bool connected;
    int vid;

    if (dev->cfg.client || !dev->sock_path || !dev->sock_id.ino) {
        return false;
    }
    vhostx_sock_identify(dev->sock_path, &now);
    if (now.ino == dev->sock_id.ino && now.dev == dev->sock_id.dev) {
        if (dev->sock_fault) {
            free(dev->sock_fault);
            dev->sock_fault = NULL;
            netdev_change_seq_changed(&dev->up);
        }
        return false;
    }

    atomic_read(&dev->vid, &vid);
    connected = vid >= 0 || dev->rings.vid >= 0 || dev->next_rings.vid >= 0;
    if (connected && !dev->sock_fault) {
        VLOG_WARN("%s: socket %s was removed or replaced; the connected "
                  "guest keeps its link, and the socket is created again "
                  "once it disconnects", name, dev->sock_path);
        dev->sock_fault = xasprintf("socket %s was removed or replaced; it "
                                    "is created again once the connected "
                                    "guest disconnects", dev->sock_path);
        netdev_change_seq_changed(&dev->up);
    }
    return !connected;
}

/* Creates the server socket of 'dev' again. */
static void
vhostx_recreate_socket(struct netdev_vhostx *dev)
    OVS_EXCLUDED(vhostx_mutex, dev->mutex)
{
    const char *name = netdev_get_name(&dev->up);
    char *msg = NULL;
    int error;

    error = vhostx_restart_server_socket(dev, &msg);

    ovs_mutex_lock(&dev->mutex);
    if (!error) {
        COVERAGE_INC(vhostx_socket_recreated);
        VLOG_WARN("%s: socket %s was removed; created it again", name,
                  dev->sock_path ? dev->sock_path : "");
        free(dev->sock_fault);
        dev->sock_fault = NULL;
    } else {
        char *fault = xasprintf("socket file was removed and cannot be "
                                "created again: %s", msg);

        COVERAGE_INC(vhostx_socket_recreate_failed);
        if (!dev->sock_fault || strcmp(fault, dev->sock_fault)) {
            VLOG_WARN("%s: %s; trying again every %d ms", name, fault,
                      CHECK_INTERVAL);
            free(dev->sock_fault);
            dev->sock_fault = fault;
        } else {
            free(fault);
        }
    }
    netdev_change_seq_changed(&dev->up);
    ovs_mutex_unlock(&dev->mutex);
    free(msg);
}

void
vhostx_recover_run(void)
    OVS_EXCLUDED(vhostx_mutex)
{
    long long int now = time_msec();
    struct sset lost = SSET_INITIALIZER(&lost);
    struct netdev_vhostx *dev;
    const char *name;

    if (now < next_check) {
        return;
    }
    next_check = now + CHECK_INTERVAL;
    vhostx_mempool_check();

    ovs_mutex_lock(&vhostx_mutex);
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        ovs_mutex_lock(&dev->mutex);
        if (vhostx_sock_lost(dev)) {
            sset_add(&lost, netdev_get_name(&dev->up));
        }
        vhostx_retry_mempool(dev, now);
        ovs_mutex_unlock(&dev->mutex);
    }
    ovs_mutex_unlock(&vhostx_mutex);

    /* Registering a socket takes vhostx_mutex and waits for the control
     * thread, so it happens with no lock held.  The ports are looked up
     * again by name, which takes OVS's netdev_mutex: that lock comes before
     * vhostx_mutex (construct and destruct run with it held), so it may not
     * be taken inside the loop above. */
    SSET_FOR_EACH (name, &lost) {
        struct netdev *netdev = netdev_from_name(name);

        if (netdev && is_vhostx_class(netdev_get_class(netdev))) {
            vhostx_recreate_socket(netdev_vhostx_cast(netdev));
        }
        netdev_close(netdev);
    }
    sset_destroy(&lost);
}

void
vhostx_recover_wait(void)
    OVS_EXCLUDED(vhostx_mutex)
{
    bool any;

    ovs_mutex_lock(&vhostx_mutex);
    any = !ovs_list_is_empty(&vhostx_devs);
    ovs_mutex_unlock(&vhostx_mutex);
    if (any) {
        poll_timer_wait_until(next_check);
    }
}
