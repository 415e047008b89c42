package attest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The configfs-tsm report interface (Linux 6.7+, Documentation/ABI/testing/
// configfs-tsm): make a directory under report/, write REPORT_DATA to
// inblob, read outblob (and auxblob, the SEV-SNP certificate table), check
// that generation did not move (another writer raced us), remove the
// directory. It is the same for SEV-SNP and TDX; provider says which.

// maxTSMBlob bounds what we read from configfs: a TDX quote with its
// certification data is a few KiB, an SNP certificate table a few KiB more.
const maxTSMBlob = 1 << 20

// tsmProvider returns the provider name configfs-tsm reports under dir, or
// "" when there is none. It makes and removes a probe entry, as reading the
// provider requires one.
func tsmProvider(dir string) string {
	if !exists(dir) {
		return ""
	}
	entry, err := tsmMkdir(dir)
	if err != nil {
		return ""
	}
	defer os.Remove(entry)
	b, err := readSmall(filepath.Join(entry, "provider"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// guestInterface picks how platform p's reports are taken: the
// configfs-tsm directory when its provider is prov (returned), else the
// device (""), else an error naming both.
func guestInterface(p Platform, prov, dev string, log *slog.Logger) (string, error) {
	got := tsmProvider(tsmReportDir)
	switch {
	case got == prov:
		log.Info("attestation provider", "platform", p, "interface", tsmReportDir, "device", exists(dev))
		return tsmReportDir, nil
	case exists(dev):
		log.Info("attestation provider", "platform", p, "interface", dev)
		return "", nil
	}
	return "", fmt.Errorf("attest: %s: neither configfs-tsm (%s, provider %s; found %q) nor %s", p, tsmReportDir, prov, got, dev)
}

// tsmMkdir makes a fresh report entry under dir. A variable so tests can lay
// out what the kernel would create in it (see fake_tsm_test.go).
var tsmMkdir = func(dir string) (string, error) {
	var r [8]byte
	rand.Read(r[:])
	entry := filepath.Join(dir, "pith-"+hex.EncodeToString(r[:]))
	if err := os.Mkdir(entry, 0o700); err != nil {
		return "", fmt.Errorf("attest: configfs-tsm entry %q: %w", entry, err)
	}
	return entry, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTSMBlob+1))
	if err != nil {
		return nil, fmt.Errorf("attest: read %q: %w", path, err)
	}
	if len(b) > maxTSMBlob {
		return nil, fmt.Errorf("attest: %q larger than %d bytes", path, maxTSMBlob)
	}
	return b, nil
}

// tsmReport is one report taken through configfs-tsm.
type tsmReport struct {
	Provider string
	Out      []byte // SEV-SNP report or TDX quote
	Aux      []byte // SEV-SNP certificate table, if the host gave one
}

// errTSMRace means another writer changed the entry between our write and
// our read; the outblob may carry someone else's REPORT_DATA.
var errTSMRace = errors.New("configfs-tsm generation changed during the request")

// tsmAttempts bounds how often a report is asked for again after another
// writer raced us (the kernel says so by moving generation): a race is
// normal once, but a writer that races every attempt is interfering.
const tsmAttempts = 3

// tsmGetReport takes one report through configfs-tsm under dir, in a fresh
// entry each attempt. privlevel is written when the file exists (SEV-SNP
// VMPL); -1 leaves it alone.
func tsmGetReport(ctx context.Context, dir string, reportData [64]byte, privlevel int) (*tsmReport, error) {
	var err error
	for range tsmAttempts {
		var r *tsmReport
		if r, err = tsmGetReportOnce(ctx, dir, reportData, privlevel); !errors.Is(err, errTSMRace) {
			return r, err
		}
	}
	return nil, fmt.Errorf("%w (%d attempts)", err, tsmAttempts)
}

func tsmGetReportOnce(ctx context.Context, dir string, reportData [64]byte, privlevel int) (*tsmReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entry, err := tsmMkdir(dir)
	if err != nil {
		return nil, err
	}
	defer os.Remove(entry)
	if privlevel >= 0 {
		p := filepath.Join(entry, "privlevel")
		if exists(p) {
			if err := os.WriteFile(p, []byte(strconv.Itoa(privlevel)), 0); err != nil {
				return nil, fmt.Errorf("attest: configfs-tsm %q: %w", p, err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(entry, "inblob"), reportData[:], 0); err != nil {
		return nil, fmt.Errorf("attest: configfs-tsm inblob in %q: %w", entry, err)
	}
	gen0, err := readGeneration(entry)
	if err != nil {
		return nil, err
	}
	r := &tsmReport{}
	if b, err := readSmall(filepath.Join(entry, "provider")); err == nil {
		r.Provider = strings.TrimSpace(string(b))
	}
	if r.Out, err = readSmall(filepath.Join(entry, "outblob")); err != nil {
		return nil, err
	}
	if len(r.Out) == 0 {
		return nil, fmt.Errorf("attest: configfs-tsm outblob in %q: %w", entry, ErrEmpty)
	}
	if aux := filepath.Join(entry, "auxblob"); exists(aux) {
		// The kernel returns an error when the host supplied no
		// certificates; that is not fatal, the verifier may have them.
		if b, err := readSmall(aux); err == nil {
			r.Aux = b
		}
	}
	gen1, err := readGeneration(entry)
	if err != nil {
		return nil, err
	}
	if gen1 != gen0 {
		return nil, fmt.Errorf("attest: configfs-tsm %q: generation %d then %d: %w", entry, gen0, gen1, errTSMRace)
	}
	return r, nil
}

func readGeneration(entry string) (uint64, error) {
	b, err := readSmall(filepath.Join(entry, "generation"))
	if err != nil {
		return 0, err
	}
	g, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attest: configfs-tsm generation %q: %w", b, err)
	}
	return g, nil
}
