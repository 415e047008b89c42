package pid1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"
)

// The full ACPI button driver (button.ko, or built in) does not signal
// PID 1; it reports presses as generic-netlink events of the "acpi_event"
// family on its "acpi_mc_group" multicast group (drivers/acpi/event.c).
// StartPowerButton listens there, so the power button works whichever of
// the two drivers the kernel has.

const (
	acpiFamily      = "acpi_event"
	acpiGroup       = "acpi_mc_group"
	acpiAttrEvent   = 1  // ACPI_GENL_ATTR_EVENT
	acpiEventSize   = 44 // struct acpi_genl_event: char[20], char[15], (pad), u32, u32
	genlHdrLen      = 4  // struct genlmsghdr: cmd, version, reserved u16
	acpiPowerButton = "button/power"
)

// ACPIEvent is one struct acpi_genl_event.
type ACPIEvent struct {
	DeviceClass string // "button/power"
	BusID       string // "LNXPWRBN:00", "PNP0C0C:00"
	Type, Data  uint32
}

// parseACPIEvent reads the ACPI event out of a generic-netlink payload
// (genlmsghdr then attributes).
func parseACPIEvent(payload []byte) (ACPIEvent, error) {
	if len(payload) < genlHdrLen {
		return ACPIEvent{}, errors.New("acpi: short generic netlink header")
	}
	attrs, err := parseAttrs(payload[genlHdrLen:])
	if err != nil {
		return ACPIEvent{}, err
	}
	b, ok := attrs[acpiAttrEvent]
	if !ok || len(b) < acpiEventSize {
		return ACPIEvent{}, fmt.Errorf("acpi: event attribute of %d bytes", len(b))
	}
	cstr := func(b []byte) string {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}
	return ACPIEvent{DeviceClass: cstr(b[0:20]), BusID: cstr(b[20:35]), Type: ne.Uint32(b[36:]), Data: ne.Uint32(b[40:])}, nil
}

// genlFamilyMsg asks the generic netlink controller about a family.
func genlFamilyMsg(seq uint32, name string) []byte {
	body := []byte{unix.CTRL_CMD_GETFAMILY, 1, 0, 0}
	body = attr(body, unix.CTRL_ATTR_FAMILY_NAME, append([]byte(name), 0))
	return encodeMsg(unix.GENL_ID_CTRL, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq, body)
}

// parseGenlFamily reads a family's id and its multicast groups (name ->
// id) from the controller's answer.
func parseGenlFamily(payload []byte) (id uint16, groups map[string]uint32, err error) {
	if len(payload) < genlHdrLen {
		return 0, nil, errors.New("genl: short header")
	}
	attrs, err := parseAttrs(payload[genlHdrLen:])
	if err != nil {
		return 0, nil, err
	}
	idb := attrs[unix.CTRL_ATTR_FAMILY_ID]
	if len(idb) < 2 {
		return 0, nil, errors.New("genl: no family id")
	}
	groups = map[string]uint32{}
	if gs, ok := attrs[unix.CTRL_ATTR_MCAST_GROUPS]; ok {
		list, err := parseAttrs(gs)
		if err != nil {
			return 0, nil, err
		}
		for _, g := range list {
			ga, err := parseAttrs(g)
			if err != nil {
				return 0, nil, err
			}
			name, gid := ga[unix.CTRL_ATTR_MCAST_GRP_NAME], ga[unix.CTRL_ATTR_MCAST_GRP_ID]
			if len(gid) != 4 {
				return 0, nil, errors.New("genl: multicast group without an id")
			}
			groups[string(bytes.TrimRight(name, "\x00"))] = ne.Uint32(gid)
		}
	}
	return ne.Uint16(idb), groups, nil
}

// genlSubscribe opens a generic netlink socket joined to family's group.
func genlSubscribe(family, group string) (fd int, familyID uint16, err error) {
	fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return -1, 0, fmt.Errorf("genl: socket: %w", err)
	}
	c := &rtnl{fd: fd, buf: make([]byte, 16<<10)}
	fail := func(err error) (int, uint16, error) { unix.Close(fd); return -1, 0, err }
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fail(fmt.Errorf("genl: bind: %w", err))
	}
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail(fmt.Errorf("genl: SO_RCVTIMEO: %w", err))
	}
	seq := c.next()
	msgs, err := c.exchange(seq, genlFamilyMsg(seq, family))
	if err != nil {
		return fail(fmt.Errorf("genl: family %s: %w", family, err))
	}
	if len(msgs) == 0 {
		return fail(fmt.Errorf("genl: no answer about family %s", family))
	}
	id, groups, err := parseGenlFamily(msgs[0].Data)
	if err != nil {
		return fail(err)
	}
	gid, ok := groups[group]
	if !ok {
		return fail(fmt.Errorf("genl: family %s has no group %s", family, group))
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(gid)); err != nil {
		return fail(fmt.Errorf("genl: join %s/%s: %w", family, group, err))
	}
	return fd, id, nil
}

// ErrPowerButton is the cause pith-init gives its context when the ACPI
// power button is pressed.
var ErrPowerButton = errors.New("ACPI power button")

// acpiSource is where ACPI events come from: recv is a receive with a
// timeout, closeFn releases it. A variable, so the tests can press the
// button.
type acpiSource struct {
	recv    func([]byte) (int, error)
	family  uint16
	closeFn func()
}

var openACPI = func() (acpiSource, error) {
	fd, family, err := genlSubscribe(acpiFamily, acpiGroup)
	if err != nil {
		return acpiSource{}, err
	}
	return acpiSource{
		recv: func(b []byte) (int, error) {
			n, _, err := unix.Recvfrom(fd, b, 0)
			return n, err
		},
		family:  family,
		closeFn: func() { unix.Close(fd) },
	}, nil
}

// StartPowerButton subscribes to ACPI events now and calls press for each
// power button event, from a goroutine of its own, until ctx is done. It
// fails at once when the kernel has no ACPI event family (no ACPI: the
// family belongs to the ACPI core, drivers/acpi/event.c, not to the
// button driver); then only the tiny driver's signal (ShutdownSignals)
// can report the button.
// Events that come after it returns are kept by the kernel in the
// socket's buffer until read, so it belongs before whatever loads the
// button driver: a press the driver reports to no subscriber is lost.
func StartPowerButton(ctx context.Context, press func()) error {
	src, err := openACPI()
	if err != nil {
		return fmt.Errorf("pid1: power button: %w", err)
	}
	go func() {
		defer Guard()
		defer src.closeFn()
		if err := watchACPI(ctx, src.recv, src.family, press); err != nil {
			slog.Warn("ACPI power button events stopped", "err", err)
		}
	}()
	return nil
}

// watchACPI reads ACPI events with recv (a receive with a timeout) and
// calls press for each power button event until ctx is done.
func watchACPI(ctx context.Context, recv func([]byte) (int, error), family uint16, press func()) error {
	buf := make([]byte, 16<<10)
	for ctx.Err() == nil {
		n, err := recv(buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue // the 1 s receive timeout: look at ctx again
		}
		if errors.Is(err, unix.ENOBUFS) {
			// The socket's buffer overflowed and events were dropped
			// (netlink(7)); the socket itself goes on working. Giving
			// up here would leave the power button dead for the rest
			// of the machine's life after one burst of ACPI events.
			slog.Warn("ACPI events lost: receive buffer overrun")
			continue
		}
		if err != nil {
			return fmt.Errorf("pid1: power button: receive: %w", err)
		}
		msgs, err := parseMsgs(buf[:n])
		if err != nil {
			slog.Warn("malformed ACPI netlink message", "err", err)
			continue
		}
		for _, m := range msgs {
			if m.Type != family {
				continue
			}
			ev, err := parseACPIEvent(m.Data)
			if err != nil {
				slog.Warn("malformed ACPI event", "err", err)
				continue
			}
			if ev.DeviceClass == acpiPowerButton {
				slog.Info("ACPI power button", "device", ev.BusID)
				press()
			}
		}
	}
	return nil
}
