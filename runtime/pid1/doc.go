// Package pid1 is what pith-init does as PID 1 before and around serving:
// read the measured kernel command line, mount the pseudo file systems,
// load the kernel modules the image carries, bring the network up by
// netlink, reap zombies, and power off on a signal or a fatal error. The
// parsers and message encoders are plain functions, tested and fuzzed on
// any machine; the privileged steps take a root directory or run in a
// fresh namespace in tests.
//
// Power button: there is no acpid, and the kernel never powers off on its
// own. Two drivers can take the ACPI power button (whichever binds first
// wins), and both are handled:
//   - tiny-power-button (CONFIG_ACPI_TINY_POWER_BUTTON) signals PID 1
//     directly, by default with signal 38 (SIGRTMIN+4, systemd's
//     convention), or SIGPWR when loaded with "power_signal=30"; both are
//     among ShutdownSignals, with SIGTERM and SIGINT.
//   - button (CONFIG_ACPI_BUTTON) sends a generic-netlink ACPI event,
//     which WatchPowerButton turns into a callback.
//
// The image must carry one of them, built in or as a module it loads.
package pid1
