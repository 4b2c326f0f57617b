# Targets added to OVS's Makefile when netdev-vhostx builds it in steps
# (make -f Makefile -f ovs-targets.mk TARGET): OVS's generated sources
# first, as its own 'all' would, then the libraries that our objects and
# ovs-vswitchd need.
vhostx-built-sources: $(BUILT_SOURCES)
vhostx-libs: lib/libopenvswitch.la ofproto/libofproto.la lib/libsflow.la
.PHONY: vhostx-built-sources vhostx-libs
