# Copyright (c) 2026 The netdev-vhostx developers.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at:
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

dnl VHOSTX_CHECK_DPDK
dnl
dnl Finds DPDK 22.11 with pkg-config.  OVS 3.1 supports no other release.
AC_DEFUN([VHOSTX_CHECK_DPDK], [
  PKG_CHECK_MODULES([DPDK], [libdpdk >= 22.11 libdpdk < 22.12], [],
    [AC_MSG_ERROR([DPDK 22.11 was not found by pkg-config: install it with
'apt-get install libdpdk-dev' (or run utilities/install-deps.sh)])])
])

dnl VHOSTX_CHECK_OVS
dnl
dnl Chooses the Open vSwitch tree to build against.
dnl
dnl --with-ovs-source=DIR (and --with-ovs-build=DIR for a separate build
dnl directory): a tree that the user patched with patches/series, configured
dnl with --with-dpdk=shared --with-netdev-provider=LIB and built.  It is
dnl checked now with build-aux/check-ovs-tree.
dnl
dnl Otherwise (the default): Debian's OVS source tarball, unpacked, patched,
dnl configured and built by 'make' in the "ovs" directory of the build tree.
dnl Only its version can be checked now; 'make' runs the other checks once
dnl it has configured it.
AC_DEFUN([VHOSTX_CHECK_OVS], [
  AC_ARG_WITH([ovs-source],
    [AS_HELP_STRING([--with-ovs-source=DIR],
                    [build against the patched OVS 3.1 source tree in DIR])],
    [], [with_ovs_source=no])
  AC_ARG_WITH([ovs-build],
    [AS_HELP_STRING([--with-ovs-build=DIR],
                    [OVS build directory, if not the source tree])],
    [], [with_ovs_build=no])
  AC_ARG_WITH([ovs-tarball],
    [AS_HELP_STRING([--with-ovs-tarball=FILE],
                    [OVS source tarball for the bundled build
                     (default: /usr/src/openvswitch/openvswitch.tar.gz)])],
    [], [with_ovs_tarball=/usr/src/openvswitch/openvswitch.tar.gz])
  AC_ARG_VAR([OVS_CONFIGURE_FLAGS],
             [extra flags for configuring the bundled OVS])

  VHOSTX_LIB=netdev-vhostx/libnetdev-vhostx.a
  AC_SUBST([VHOSTX_LIB])

  AC_MSG_CHECKING([for the Open vSwitch tree])
  case $with_ovs_source in
    no)
      if test "$with_ovs_build" != no; then
        AC_MSG_ERROR([--with-ovs-build needs --with-ovs-source])
      fi
      if test ! -f "$with_ovs_tarball"; then
        AC_MSG_ERROR([$with_ovs_tarball not found: install Debian's OVS
source with 'apt-get install openvswitch-source' (or run
utilities/install-deps.sh), or give your own patched tree with
--with-ovs-source=DIR])
      fi
      OVS_VERSION=`tar -xzOf "$with_ovs_tarball" openvswitch/configure.ac \
                   2>/dev/null \
                   | $SED -n 's/^A[[C]]_INIT(openvswitch, *\([[^,]]*\),.*/\1/p'`
      case $OVS_VERSION in
        3.1.*) ;;
        *) AC_MSG_ERROR([$with_ovs_tarball holds Open vSwitch
'$OVS_VERSION', but netdev-vhostx supports only OVS 3.1.x: use Debian 12's
openvswitch-source or point --with-ovs-tarball at an OVS 3.1 tarball]) ;;
      esac
      OVS_TARBALL=$with_ovs_tarball
      OVS_SRCDIR=`pwd`/ovs
      OVS_BUILDDIR=$OVS_SRCDIR
      bundled_ovs=yes
      AC_MSG_RESULT([bundled OVS $OVS_VERSION from $OVS_TARBALL])
      ;;
    /*)
      OVS_SRCDIR=$with_ovs_source
      if test "$with_ovs_build" = no; then
        OVS_BUILDDIR=$OVS_SRCDIR
      else
        OVS_BUILDDIR=$with_ovs_build
      fi
      AC_MSG_RESULT([$OVS_SRCDIR (build $OVS_BUILDDIR)])
      vhostx_lib_path=`pwd`/$VHOSTX_LIB
      if ! vhostx_msg=`$SHELL "$srcdir/build-aux/check-ovs-tree" \
                              "$OVS_SRCDIR" "$OVS_BUILDDIR" \
                              "$vhostx_lib_path" 2>&1`; then
        AC_MSG_ERROR([$vhostx_msg])
      fi
      OVS_VERSION=`$SED -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' \
                   "$OVS_BUILDDIR/config.h"`
      OVS_TARBALL=$with_ovs_tarball
      bundled_ovs=no
      ;;
    *)
      AC_MSG_ERROR([--with-ovs-source needs an absolute path])
      ;;
  esac
  AC_SUBST([OVS_SRCDIR])
  AC_SUBST([OVS_BUILDDIR])
  AC_SUBST([OVS_TARBALL])
  AC_SUBST([OVS_VERSION])
  AM_CONDITIONAL([BUNDLED_OVS], [test $bundled_ovs = yes])
])

dnl VHOSTX_WARNING_FLAGS
dnl
dnl The warnings OVS compiles itself with, so that our code meets the same
dnl bar.  --enable-Werror turns them into errors.
AC_DEFUN([VHOSTX_WARNING_FLAGS], [
  AC_ARG_ENABLE([Werror],
    [AS_HELP_STRING([--enable-Werror], [treat warnings as errors])],
    [], [enable_Werror=no])
  WARNING_FLAGS="-Wall -Wextra -Wno-sign-compare -Wpointer-arith -Wformat"
  WARNING_FLAGS="$WARNING_FLAGS -Wformat-security -Wswitch-enum"
  WARNING_FLAGS="$WARNING_FLAGS -Wunused-parameter -Wbad-function-cast"
  WARNING_FLAGS="$WARNING_FLAGS -Wcast-align -Wstrict-prototypes"
  WARNING_FLAGS="$WARNING_FLAGS -Wold-style-definition -Wmissing-prototypes"
  WARNING_FLAGS="$WARNING_FLAGS -Wmissing-field-initializers -Wshadow"
  WARNING_FLAGS="$WARNING_FLAGS -fno-strict-aliasing -mssse3"
  if test "$enable_Werror" = yes; then
    WARNING_FLAGS="$WARNING_FLAGS -Werror"
  fi
  AC_SUBST([WARNING_FLAGS])
])

dnl VHOSTX_SANITIZERS
dnl
dnl --enable-sanitizers builds our library, the test program and the
dnl bundled OVS with AddressSanitizer and UndefinedBehaviorSanitizer.
dnl UBSan recovers: a process goes on after a report, so that one run
dnl reports every faulty site, and the test suites fail a test on the
dnl report file that it leaves (tests/atlocal.in).  ASan errors are always
dnl fatal.  An OVS tree of one's own (--with-ovs-source) must have been
dnl configured with the same flags in its CFLAGS, or ovs-vswitchd does not
dnl link with our instrumented objects.
AC_DEFUN([VHOSTX_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers],
                    [build with AddressSanitizer and
                     UndefinedBehaviorSanitizer, OVS too (for testing)])],
    [], [enable_sanitizers=no])
  SANITIZER_FLAGS=
  case $enable_sanitizers in
    yes)
      SANITIZER_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
      SANITIZER_FLAGS="$SANITIZER_FLAGS -fno-common"
      AC_MSG_CHECKING([whether $CC can build with $SANITIZER_FLAGS])
      vhostx_save_CFLAGS=$CFLAGS
      CFLAGS="$CFLAGS $SANITIZER_FLAGS"
      AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
        [AC_MSG_RESULT([yes])],
        [AC_MSG_RESULT([no])
         AC_MSG_ERROR([$CC cannot link with $SANITIZER_FLAGS: install
libasan and libubsan ('apt-get install gcc', which brings them on Debian
12)])])
      CFLAGS=$vhostx_save_CFLAGS
      if test "$bundled_ovs" = no \
         && ! grep -q '^CFLAGS = .*-fsanitize=address' \
                   "$OVS_BUILDDIR/Makefile"; then
        AC_MSG_ERROR([--enable-sanitizers: $OVS_BUILDDIR was not configured
with -fsanitize=address,undefined: configure it with
CFLAGS='-g -O2 $SANITIZER_FLAGS' and rebuild it])
      fi
      ;;
    no) ;;
    *) AC_MSG_ERROR([--enable-sanitizers takes no value]) ;;
  esac
  AC_SUBST([SANITIZER_FLAGS])
  AC_SUBST([enable_sanitizers])
  AM_CONDITIONAL([SANITIZERS], [test "$enable_sanitizers" = yes])
])
