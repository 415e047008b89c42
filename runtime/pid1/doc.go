// Package pid1 is what pith-init does as PID 1 before and around serving:
// read the measured kernel command line, mount the pseudo file systems,
// load the kernel modules the image carries, bring the network up by
// netlink (a static address from pith.net, or a DHCPv4 lease), reap
// zombies, and power off on a signal or a fatal error. The
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
//     which StartPowerButton turns into a callback.
//
// The image must carry one of them, built in or as a module it loads.
// Boot listens for the netlink events before it loads any module and
// loads the button's driver first: a press before the driver is bound is
// dropped by ACPI, and one the driver reports to no listener is lost.
//
// Network: pith.net=ADDR/PREFIX,GATEWAY[,IFNAME] is static;
// pith.net=dhcp[,IFNAME] leases an IPv4 address with the DHCP client of
// dhcp*.go (DISCOVER, OFFER, REQUEST, ACK over a packet socket, since the
// link has no address yet to bind a UDP socket to), taking the
// server's MTU (option 26) and a router outside the leased subnet (the
// /32 leases of Google Compute Engine, reached by a host route) as
// clouds give them; without pith.net,
// Boot leases by DHCP on the first Ethernet link when there is one
// (AutoNet), and keeps to loopback when there is none. No lease within
// DefaultDHCPTiming's 30 s is fatal. Boot keeps the lease renewed (at T1,
// RFC 2131 4.4.5); a NAK, or no answer before the lease ends, means the
// address may be another machine's, and pith-init stops serving and
// powers off with the reason (BootOptions.LeaseLost). No ARP probe for
// the leased address is made: in a VM the host's DHCP server is the
// authority on who has which address.
package pid1
