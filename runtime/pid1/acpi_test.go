package pid1

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// acpiEventMsg builds what drivers/acpi/event.c sends for an event.
func acpiEventMsg(family uint16, class, bus string, typ, data uint32) []byte {
	ev := make([]byte, acpiEventSize)
	copy(ev[0:20], class)
	copy(ev[20:35], bus)
	ne.PutUint32(ev[36:], typ)
	ne.PutUint32(ev[40:], data)
	body := attr([]byte{1 /* ACPI_GENL_CMD_EVENT */, 1, 0, 0}, acpiAttrEvent, ev)
	return encodeMsg(family, 0, 0, body)
}

func TestParseACPIEvent(t *testing.T) {
	msgs, err := parseMsgs(acpiEventMsg(0x1a, "button/power", "LNXPWRBN:00", 0x80, 1))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := parseACPIEvent(msgs[0].Data)
	want := ACPIEvent{DeviceClass: "button/power", BusID: "LNXPWRBN:00", Type: 0x80, Data: 1}
	if err != nil || ev != want {
		t.Fatalf("%+v, %v; want %+v", ev, err, want)
	}
	for _, bad := range [][]byte{{1, 2}, {1, 1, 0, 0, 8, 0, 1, 0, 1, 2, 3, 4}} {
		if _, err := parseACPIEvent(bad); err == nil {
			t.Errorf("accepted % x", bad)
		}
	}
}

// The generic-netlink plumbing, against the one family every kernel has:
// the controller itself ("nlctrl", id 0x10, multicast group "notify").
func TestGenlSubscribeController(t *testing.T) {
	fd, id, err := genlSubscribe("nlctrl", "notify")
	if err != nil {
		t.Skipf("no generic netlink here: %v", err)
	}
	unix.Close(fd)
	if id != unix.GENL_ID_CTRL {
		t.Fatalf("nlctrl id %#x", id)
	}
	if _, _, err := genlSubscribe("nlctrl", "no-such-group"); err == nil {
		t.Fatal("joined a group that does not exist")
	}
	if _, _, err := genlSubscribe("no_such_family", "x"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("unknown family: %v, want ENOENT", err)
	}
}

// On a machine with ACPI the watcher subscribes, and its goroutine ends
// with its context; without, it says so at once.
func TestStartPowerButton(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := StartPowerButton(ctx, func() { t.Error("a press out of nowhere") })
	if err != nil {
		t.Skipf("no ACPI event family on this machine: %v", err)
	}
}

// The watcher's receive loop: timeouts and a buffer overrun (events
// dropped, the socket still good) go on to the next event; any other
// receive error ends the watch.
func TestWatchACPIReceiveErrors(t *testing.T) {
	const fam = 0x1a
	press := acpiEventMsg(fam, "button/power", "LNXPWRBN:00", 0x80, 1)
	other := acpiEventMsg(fam, "button/lid", "PNP0C0D:00", 0x80, 1)
	tests := []struct {
		name      string
		errs      []error // returned by the receives before the press
		wantErr   error
		wantPress int
	}{
		{"timeout", []error{unix.EAGAIN, unix.EINTR}, nil, 1},
		{"overrun", []error{unix.ENOBUFS, unix.ENOBUFS}, nil, 1},
		{"other event then overrun", []error{nil, unix.ENOBUFS}, nil, 1},
		{"broken socket", []error{unix.EBADF}, unix.EBADF, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			i := 0
			recv := func(b []byte) (int, error) {
				defer func() { i++ }()
				switch {
				case i < len(tc.errs) && tc.errs[i] == nil:
					return copy(b, other), nil
				case i < len(tc.errs):
					return 0, tc.errs[i]
				case i == len(tc.errs):
					return copy(b, press), nil
				}
				t.Fatal("receive after the press")
				return 0, nil
			}
			presses := 0
			err := watchACPI(ctx, recv, fam, func() { presses++; cancel() })
			if !errors.Is(err, tc.wantErr) || tc.wantErr == nil && err != nil || presses != tc.wantPress {
				t.Fatalf("watchACPI = %v with %d presses, want %v with %d", err, presses, tc.wantErr, tc.wantPress)
			}
		})
	}
}

func FuzzParseACPIEvent(f *testing.F) {
	f.Add(acpiEventMsg(0x1a, "button/power", "PNP0C0C:00", 0x80, 2)[16:])
	f.Add(genlFamilyMsg(1, "acpi_event")[16:])
	f.Fuzz(func(t *testing.T, b []byte) {
		parseACPIEvent(b)
		parseGenlFamily(b)
	})
}
