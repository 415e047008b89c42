// Package pid1 is what pith-init does as PID 1 before and around serving:
// read the measured kernel command line, mount the pseudo file systems,
// load the kernel modules the image carries, bring the network up by
// netlink, reap zombies, and power off on a signal or a fatal error. The
// parsers and message encoders are plain functions, tested and fuzzed on
// any machine; the privileged steps take a root directory or run in a
// fresh namespace in tests.
//
// Power button: with no acpid, the kernel's ACPI tiny power button driver
// (CONFIG_ACPI_TINY_POWER_BUTTON, module tiny-power-button) signals PID 1
// directly. Its default signal is 38 (SIGRTMIN+4, systemd's convention);
// load it with "power_signal=30" for SIGPWR, or leave the default: both,
// as well as SIGTERM and SIGINT, start the shutdown. The full ACPI button
// driver (button.ko) only emits input and netlink events and must not be
// loaded instead: whichever of the two binds first takes the button.
package pid1
