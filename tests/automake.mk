# The unit suite ('make check': no root, no hugepages), the system suite
# ('make check-system': root, hugepages, dpdk-testpmd) and the VM suite
# ('make check-vm': the same plus QEMU), autotest suites run with the
# binaries of the patched OVS build.

check_PROGRAMS += tests/test-vhostx
tests_test_vhostx_SOURCES = tests/test-vhostx.c
tests_test_vhostx_LDADD = $(VHOSTX_LIB) $(OVS_BUILDDIR)/lib/libopenvswitch.la
tests_test_vhostx_LINK = $(OVS_BUILDDIR)/libtool --silent --tag=CC \
	--mode=link $(CCLD) $(AM_CFLAGS) $(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS) \
	-o $@

TESTSUITE_AT = \
	tests/testsuite.at \
	tests/vhostx-macros.at \
	tests/unit-names.at \
	tests/unit-configure.at \
	tests/unit-nodpdk.at \
	tests/unit-policer.at
SYSTEM_TESTSUITE_AT = \
	tests/system-testsuite.at \
	tests/vhostx-macros.at \
	tests/system-macros.at \
	tests/system-bench.at \
	tests/system-tools.at \
	tests/system-vhostx.at \
	tests/system-vhostx-port.at \
	tests/system-vhostx-datapath.at \
	tests/system-vhostx-badinput.at \
	tests/system-vhostx-reconnect.at \
	tests/system-vhostx-faults.at \
	tests/system-vhostx-policer.at \
	tests/system-vhostx-policer-rate.at \
	tests/system-vhostx-upstream.at
VM_TESTSUITE_AT = \
	tests/vm-testsuite.at \
	tests/vhostx-macros.at \
	tests/system-macros.at \
	tests/vm-macros.at \
	tests/vm-vhostx.at \
	tests/vm-migration.at \
	tests/vm-two-hosts.at \
	tests/vm-ovn.at \
	tests/vm-libvirt.at
EXTRA_DIST += $(TESTSUITE_AT) $(SYSTEM_TESTSUITE_AT) $(VM_TESTSUITE_AT) \
	tests/atlocal.in tests/lsan.supp tests/min-tests tests/allowed-skips
DISTCLEANFILES += tests/atconfig tests/atlocal

TESTSUITE = tests/testsuite
SYSTEM_TESTSUITE = tests/system-testsuite
VM_TESTSUITE = tests/vm-testsuite
CLEANFILES += $(TESTSUITE) $(SYSTEM_TESTSUITE) $(VM_TESTSUITE) \
	tests/package.m4 tests/vm-report.txt

AUTOM4TE = autom4te
AUTOTEST = $(AUTOM4TE) -language=autotest
AUTOTEST_PATH = $(OVS_BUILDDIR)/utilities:$(OVS_BUILDDIR)/vswitchd:$(OVS_BUILDDIR)/ovsdb:$(abs_top_builddir)/tests

tests/package.m4: $(top_srcdir)/configure.ac
	$(AM_V_GEN){ \
	  echo '# Signature of the current package.'; \
	  echo 'm4_define([AT_PACKAGE_NAME],      [$(PACKAGE_NAME)])'; \
	  echo 'm4_define([AT_PACKAGE_TARNAME],   [$(PACKAGE_TARNAME)])'; \
	  echo 'm4_define([AT_PACKAGE_VERSION],   [$(PACKAGE_VERSION)])'; \
	  echo 'm4_define([AT_PACKAGE_STRING],    [$(PACKAGE_STRING)])'; \
	  echo 'm4_define([AT_PACKAGE_BUGREPORT], [$(PACKAGE_BUGREPORT)])'; \
	} > $@

$(TESTSUITE): tests/package.m4 $(TESTSUITE_AT)
	$(AM_V_GEN)$(AUTOTEST) -I '$(srcdir)' -I tests -o $@.tmp \
	    $(srcdir)/tests/testsuite.at && mv $@.tmp $@
$(SYSTEM_TESTSUITE): tests/package.m4 $(SYSTEM_TESTSUITE_AT)
	$(AM_V_GEN)$(AUTOTEST) -I '$(srcdir)' -I tests -o $@.tmp \
	    $(srcdir)/tests/system-testsuite.at && mv $@.tmp $@

$(VM_TESTSUITE): tests/package.m4 $(VM_TESTSUITE_AT)
	$(AM_V_GEN)$(AUTOTEST) -I '$(srcdir)' -I tests -o $@.tmp \
	    $(srcdir)/tests/vm-testsuite.at && mv $@.tmp $@

check-local: tests/atconfig tests/atlocal $(TESTSUITE)
	$(SHELL) '$(TESTSUITE)' -C tests AUTOTEST_PATH='$(AUTOTEST_PATH)' \
	    $(TESTSUITEFLAGS)

# The system suite needs root, hugepages and dpdk-testpmd.  Run through
# utilities/vhostx-check, which sets them up, or directly as root.
check-system: all tests/atconfig tests/atlocal $(SYSTEM_TESTSUITE)
	$(SHELL) '$(SYSTEM_TESTSUITE)' -C tests \
	    AUTOTEST_PATH='$(AUTOTEST_PATH)' $(TESTSUITEFLAGS)
PHONY += check-system

# With --enable-sanitizers: the unit suite, then a short subset of the
# system suite (root, hugepages; in namespaces of its own, as
# utilities/vhostx-check runs it), both failing a test on any ASan, LSan or
# UBSan report (tests/atlocal.in, tests/vhostx-macros.at).  The subset
# covers both roles, traffic, live role switches with reconnects, a
# handover and refused options on live ports, in a few minutes; it leaves
# out the tests that kill and restart a peer 50 times (10 minutes each
# under ASan on two busy cores) and those that measure rates (policers),
# which a busy machine fails under ASan.  Keywords match test titles too,
# hence "role,!reconnect".  SANITIZERS_SYSTEM_FLAGS='' runs the whole
# system suite.
SANITIZERS_SYSTEM_FLAGS = -k traffic -k 'role,!reconnect' -k handover \
	-k 'bad-input,!policer' -k 'fault,socket'
if SANITIZERS
check-sanitizers: all $(check_PROGRAMS) tests/atconfig tests/atlocal \
		$(TESTSUITE) $(SYSTEM_TESTSUITE)
	@rc=0; \
	echo "== unit suite, ASan and UBSan"; \
	$(SHELL) '$(TESTSUITE)' -C tests AUTOTEST_PATH='$(AUTOTEST_PATH)' \
	    -j2 $(TESTSUITEFLAGS) || rc=1; \
	echo "== system suite, ASan and UBSan: $(SANITIZERS_SYSTEM_FLAGS)"; \
	isolate=; \
	if test "`id -u`" = 0 && test "$${VHOSTX_ISOLATE:-yes}" = yes; then \
	    isolate='$(abs_top_srcdir)/utilities/vhostx-isolate'; \
	fi; \
	$$isolate $(SHELL) '$(SYSTEM_TESTSUITE)' -C tests \
	    AUTOTEST_PATH='$(AUTOTEST_PATH)' $(SANITIZERS_SYSTEM_FLAGS) \
	    $(TESTSUITEFLAGS) || rc=1; \
	exit $$rc
else
check-sanitizers:
	@echo "check-sanitizers: this build has no sanitizers: configure it" \
	     "with --enable-sanitizers (in a build directory of its own)"
	@exit 1
endif
PHONY += check-sanitizers

# The VM suite: QEMU guests (utilities/vhostx-vm) on dpdkvhostx ports.  It
# needs what the system suite needs plus QEMU; its tests skip, saying so,
# without them.  The guest (Debian's cloud kernel, downloaded once, and a
# busybox initramfs) is built in guest/ when QEMU is there.
vm-guest:
	@if command -v qemu-system-x86_64 > /dev/null; then \
	    $(SHELL) $(srcdir)/utilities/vhostx-vm build-guest guest; \
	else \
	    echo "vm-guest: no qemu-system-x86_64: the VM tests will be skipped"; \
	fi
PHONY += vm-guest
check-vm: all tests/atconfig tests/atlocal $(VM_TESTSUITE) vm-guest
	rm -f tests/vm-report.txt
	$(SHELL) '$(VM_TESTSUITE)' -C tests \
	    AUTOTEST_PATH='$(AUTOTEST_PATH)' $(TESTSUITEFLAGS)
PHONY += check-vm
CLEAN_LOCAL += clean-vm-guest
clean-vm-guest:
	rm -rf guest
PHONY += clean-vm-guest

# What each suite's --clean would remove, removed directly: 'make clean'
# may already have deleted the suites themselves (CLEANFILES).
CLEAN_LOCAL += clean-testsuites
clean-testsuites:
	for s in $(TESTSUITE) $(SYSTEM_TESTSUITE) $(VM_TESTSUITE); do \
	    rm -rf $$s.dir $$s.log; \
	done
PHONY += clean-testsuites
