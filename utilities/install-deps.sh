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
"

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
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing > /dev/null
echo "install-deps: done"
