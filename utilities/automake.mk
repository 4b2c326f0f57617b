EXTRA_DIST += \
	utilities/install-deps.sh \
	utilities/setup-hugepages.sh \
	utilities/vhostx-bench \
	utilities/vhostx-build.sh \
	utilities/vhostx-check \
	utilities/vhostx-demo \
	utilities/vhostx-emc-hotpath-bench \
	utilities/vhostx-isolate \
	utilities/vhostx-lib.sh \
	utilities/vhostx-patches \
	utilities/vhostx-policer-bench \
	utilities/vhostx-reconnect-bench \
	utilities/vhostx-soak \
	utilities/vhostx-vm
