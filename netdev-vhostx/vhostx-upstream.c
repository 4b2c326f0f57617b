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

/* Serving the upstream vhost-user port types.
 *
 * Orchestration creates vhost-user ports only with the type names it knows:
 * OpenStack's os-vif writes "dpdkvhostuser" or "dpdkvhostuserclient", and
 * libvirt finds such ports by their sockets.  With
 * other_config:vhostx-serve-upstream-types=true, we serve those names with
 * copies of our class (netdev_vhostx_server_class and
 * netdev_vhostx_client_class), so that such ports get our reconnect,
 * statistics, policer and show without a change to the tools.  Off, the
 * default, leaves OVS's own netdev-dpdk classes in place.
 *
 * OVS's netdev_replace_provider() (patches/0006) swaps the class
 * registered for a type name and hands back the one it replaced, which we
 * keep to put back when the switch goes off.  It refuses while a port of
 * the type exists: an open netdev keeps the class that created it.  Then
 * the port keeps its provider, we log why once, show it in
 * netdev-vhostx/upstream-types, and retry every second until the ports of
 * that type are gone.  Ports created in the meantime get the class that is
 * registered when they are created.
 *
 * Everything here runs in ovs-vswitchd's main thread (bridge_run(),
 * netdev_wait() and unixctl commands), the only thread that registers
 * classes or opens netdevs, so it needs no lock of its own. */

#include <config.h>

#include <errno.h>
#include <string.h>

#include "vhostx-private.h"
#include "netdev-provider.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "smap.h"
#include "timeval.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(vhostx_upstream);

#define UPSTREAM_KEY "vhostx-serve-upstream-types"

/* How long to wait before trying again a swap that was refused. */
#define UPSTREAM_RETRY_MS 1000

struct upstream_type {
    const char *type;
    const struct netdev_class *ours;
    const struct netdev_class *upstream; /* The class we replaced, or NULL
                                          * while we do not serve 'type'. */
    char *refusal;                       /* Why the last swap was refused,
                                          * or NULL. */
};

static struct upstream_type upstream_types[] = {
    { VHOSTX_UPSTREAM_SERVER_TYPE, &netdev_vhostx_server_class, NULL, NULL },
    { VHOSTX_UPSTREAM_CLIENT_TYPE, &netdev_vhostx_client_class, NULL, NULL },
};

static bool wanted;             /* other_config asks us to serve them. */
static char *last_value;        /* The last value of UPSTREAM_KEY read. */
static long long int retry_at = LLONG_MAX;

static bool
serving(const struct upstream_type *t)
{
    return t->upstream != NULL;
}

/* Returns the number of our ports of class 'class', and appends their
 * names to 'names', comma separated. */
static int
count_ports(const struct netdev_class *class, struct ds *names)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct netdev_vhostx *dev;
    int n = 0;

    ovs_mutex_lock(&vhostx_mutex);
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        if (netdev_get_class(&dev->up) == class) {
            ds_put_format(names, "%s%s", n ? ", " : "",
                          netdev_get_name(&dev->up));
            n++;
        }
    }
    ovs_mutex_unlock(&vhostx_mutex);
    return n;
}

/* Records 'msg' (taking it) as the reason why 't' was not swapped, and
 * logs it if it is new. */
static void
set_refusal(struct upstream_type *t, char *msg)
{
    if (!t->refusal || strcmp(t->refusal, msg)) {
        VLOG_WARN("%s", msg);
    }
    free(t->refusal);
    t->refusal = msg;
}

/* Tries to make 't' served as 'wanted' says.  Returns true on success. */
static bool
swap_type(struct upstream_type *t)
{
    const struct netdev_class *old;
    int error;

    error = netdev_replace_provider(wanted ? t->ours : t->upstream, &old);
    if (!error) {
        t->upstream = wanted ? old : NULL;
        VLOG_INFO("port type %s is now served by %s", t->type,
                  wanted ? "netdev-vhostx" : "its upstream provider");
        free(t->refusal);
        t->refusal = NULL;
        return true;
    }

    if (error == EBUSY && wanted) {
        set_refusal(t, xasprintf("cannot serve port type %s yet: ports of "
                                 "that type exist, served by their upstream "
                                 "provider until they are deleted (retrying "
                                 "every second)", t->type));
    } else if (error == EBUSY) {
        struct ds names = DS_EMPTY_INITIALIZER;
        int n = count_ports(t->ours, &names);

        set_refusal(t, xasprintf("still serving port type %s: %d port(s) "
                                 "of that type exist (%s); their upstream "
                                 "provider gets the type back when they are "
                                 "deleted (retrying every second)", t->type,
                                 n, ds_cstr(&names)));
        ds_destroy(&names);
    } else {
        set_refusal(t, xasprintf("cannot %s port type %s: %s",
                                 wanted ? "serve" : "give back", t->type,
                                 ovs_strerror(error)));
    }
    return false;
}

/* Follows other_config:vhostx-serve-upstream-types in 'ovs_other_config'.
 * Called on every configuration pass once DPDK, and with it netdev-dpdk's
 * classes, is up, and before the bridge creates the pass's ports. */
void
vhostx_upstream_run(const struct smap *ovs_other_config)
{
    const char *value = smap_get(ovs_other_config, UPSTREAM_KEY);

    if (!nullable_string_is_equal(value, last_value)) {
        free(last_value);
        last_value = nullable_xstrdup(value);
        if (!value || !strcmp(value, "false")) {
            wanted = false;
        } else if (!strcmp(value, "true")) {
            wanted = true;
        } else {
            VLOG_WARN("other_config:%s=\"%s\" is neither \"true\" nor "
                      "\"false\"; it stays %s", UPSTREAM_KEY, value,
                      wanted ? "true" : "false");
        }
        retry_at = 0;
    }

    if (time_msec() < retry_at) {
        return;
    }
    retry_at = LLONG_MAX;
    for (size_t i = 0; i < ARRAY_SIZE(upstream_types); i++) {
        struct upstream_type *t = &upstream_types[i];

        if (serving(t) != wanted && !swap_type(t)) {
            retry_at = time_msec() + UPSTREAM_RETRY_MS;
        } else if (serving(t) == wanted && t->refusal) {
            free(t->refusal);
            t->refusal = NULL;
        }
    }
}

void
vhostx_upstream_wait(void)
{
    if (retry_at != LLONG_MAX) {
        poll_timer_wait_until(retry_at);
    }
}

/* Appends to 'reply' who serves each upstream type, for
 * netdev-vhostx/upstream-types. */
void
vhostx_upstream_format(struct ds *reply)
{
    ds_put_format(reply, "other_config:%s: %s\n", UPSTREAM_KEY,
                  wanted ? "true" : "false");
    for (size_t i = 0; i < ARRAY_SIZE(upstream_types); i++) {
        const struct upstream_type *t = &upstream_types[i];
        struct ds names = DS_EMPTY_INITIALIZER;

        ds_put_format(reply, "%s: served by %s", t->type,
                      serving(t) ? "netdev-vhostx" : "its upstream provider");
        if (serving(t)) {
            int n = count_ports(t->ours, &names);

            ds_put_format(reply, ", %d port(s)%s%s%s", n,
                          n ? " (" : "", ds_cstr(&names), n ? ")" : "");
        }
        ds_put_char(reply, '\n');
        if (t->refusal) {
            ds_put_format(reply, "  refused: %s\n", t->refusal);
        }
        ds_destroy(&names);
    }
}
