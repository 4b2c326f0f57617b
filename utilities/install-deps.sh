#! /bin/sh
# Copyright (c) 2026 The netdev-vhostx developers.
# Licensed under the Apache License, Version 2.0.
#
# Installs, from Debian 12's packages, everything netdev-vhostx needs to
# build and test.  Safe to run again: it calls apt-get only for packages
# that are missing.  Needs root.

set -e

packages="
    autoconf automake libtool pkg-config make gcc python3 patch quilt git
    openvswitch-source libdpdk-dev dpdk-dev libnuma-dev
    libssl-dev libcap-ng-dev libunbound-dev
    iproute2 iputils-ping procps ethtool coreutils
    qemu-system-x86 busybox-static cpio
    ovn-central ovn-host
    libvirt-daemon-system libvirt-clients
"

# The system services of OVN's packages, of the openvswitch-switch that
# ovn-host pulls in and of libvirt's: the tests run their own daemons, in
# their own directories, and a system ovs-vswitchd or libvirtd must not
# run beside them.
services="ovn-central ovn-host ovn-northd ovn-controller
          ovn-ovsdb-server-nb ovn-ovsdb-server-sb
          openvswitch-switch ovs-vswitchd ovsdb-server
          libvirtd virtlogd virtlockd"

# stop_services: stops and disables those services, as far as this
# machine's init system knows them.
stop_services () {
    for s in $services; do
        if test -d /run/systemd/system && command -v systemctl > /dev/null
        then
            systemctl disable --now "$s" > /dev/null 2>&1 || true
        elif test -x "/etc/init.d/$s"; then
            "/etc/init.d/$s" stop > /dev/null 2>&1 || true
            update-rc.d "$s" disable > /dev/null 2>&1 || true
        fi
    done
}

missing=
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

if test -z "$missing"; then
    echo "install-deps: all packages are installed"
    exit 0
fi

if test "$(id -u)" != 0; then
    echo "install-deps: missing packages:$missing; run this as root" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# No service starts while installing (policy-rc.d, as in a chroot), unless
# this machine already has a policy of its own.
policy=
if test ! -e /usr/sbin/policy-rc.d; then
    policy=/usr/sbin/policy-rc.d
    printf '#! /bin/sh\nexit 101\n' > $policy
    chmod 755 $policy
    trap 'rm -f $policy' 0
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing > /dev/null
stop_services
echo "install-deps: done"
