#! /bin/sh
# Copyright (c) 2026 The netdev-vhostx developers.
# Licensed under the Apache License, Version 2.0.
#
# Usage: setup-hugepages.sh [PAGES]
#
# Makes sure that at least PAGES (default 1536) 2 MiB hugepages are
# allocated and that hugetlbfs is mounted on /dev/hugepages.  Safe to run
# again; needs root.

set -e
want=${1:-1536}

if test "$(id -u)" != 0; then
    echo "$0: hugepages can only be set up by root" >&2
    exit 1
fi

have=$(cat /proc/sys/vm/nr_hugepages)
if test "$have" -lt "$want"; then
    echo "$want" > /proc/sys/vm/nr_hugepages
    have=$(cat /proc/sys/vm/nr_hugepages)
    if test "$have" -lt "$want"; then
        echo "$0: asked for $want hugepages, the kernel gave $have" >&2
        exit 1
    fi
fi

if ! grep -qs '^[^ ]* /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
fi

echo "hugepages: $(cat /proc/sys/vm/nr_hugepages) allocated," \
     "$(sed -n 's/^HugePages_Free: *//p' /proc/meminfo) free," \
     "hugetlbfs on /dev/hugepages"
