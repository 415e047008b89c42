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

// On a machine with ACPI the watcher subscribes and returns when its
// context ends; without, it says so at once.
func TestWatchPowerButton(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := WatchPowerButton(ctx, func() { t.Error("a press out of nowhere") })
	if err != nil {
		t.Skipf("no ACPI event family on this machine: %v", err)
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
