# The documentation, installed in $(docdir) with its directory layout.
nobase_dist_doc_DATA += \
	Documentation/index.rst \
	Documentation/intro/install/debian.rst \
	Documentation/topics/benchmark.rst \
	Documentation/topics/debugging.rst \
	Documentation/topics/emc-size-masks32-loaded.png \
	Documentation/topics/emc-size-masks32.png \
	Documentation/topics/emc-size.rst \
	Documentation/topics/netdev-vhostx.rst \
	Documentation/topics/ovn.rst \
	Documentation/topics/vm-testing.rst
