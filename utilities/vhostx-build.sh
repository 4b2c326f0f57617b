#! /bin/sh
# Copyright (c) 2026 The netdev-vhostx developers.
# Licensed under the Apache License, Version 2.0.
#
# Usage: vhostx-build.sh [BUILDDIR]
#
# Installs the dependencies, then generates, configures and builds
# netdev-vhostx and the patched OVS in BUILDDIR (default: _build in the
# source tree; a relative BUILDDIR is relative to the current directory).
# BUILDDIR must not be the source tree itself: the build is a VPATH build.
# Safe to run again: each step is skipped once done, and make rebuilds
# only what changed.

set -e
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$srcdir/_build}
case $builddir in
    /*) ;;
    *) builddir=$(pwd)/$builddir ;;
esac
if test -d "$builddir" && test "$(cd "$builddir" && pwd)" = "$srcdir"; then
    echo "vhostx-build: $builddir is the source tree; give a build" \
         "directory, e.g. $srcdir/_build" >&2
    exit 1
fi

"$srcdir/utilities/install-deps.sh"

cd "$srcdir"
if test ! -x configure || test configure.ac -nt configure \
        || test m4/vhostx.m4 -nt configure; then
    echo "vhostx-build: generating configure"
    ./boot.sh > /dev/null 2>&1 || ./boot.sh
fi

mkdir -p "$builddir"
cd "$builddir"
if test ! -f Makefile; then
    echo "vhostx-build: configuring in $builddir"
    "$srcdir/configure" ${VHOSTX_CONFIGURE_FLAGS} > configure.log 2>&1 \
        || { tail -20 configure.log; exit 1; }
fi

echo "vhostx-build: building in $builddir (OVS and netdev-vhostx)"
start=$(date +%s)
make -j"$(nproc)" > make.log 2>&1 || { tail -40 make.log; exit 1; }
echo "vhostx-build: built in $(( $(date +%s) - start )) s;" \
     "ovs-vswitchd is $builddir/ovs/vswitchd/ovs-vswitchd"
