package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/client"
	// The SEV-SNP and TDX verifiers: pith verify checks hardware evidence.
	_ "github.com/pith-project/pith/attest/hwverify"
)

// verifyStdout is where `pith verify` prints; tests capture it.
var verifyStdout io.Writer = os.Stdout

// verifyNow is the time `pith verify` checks certificates and collateral
// at; zero means the current time. Tests set it to when the vendors'
// sample collateral was valid.
var verifyNow time.Time

// verifyOpts holds the flags of one `pith verify` call.
type verifyOpts struct {
	manifest    string
	nonce       string
	url         string
	allowDev    bool
	allowDebug  bool
	allowMA     bool
	noSMT       bool
	skipBinding bool
	json        bool
	vcpus       int
	vcpuType    string
	chipIDs     string
	fetch       bool
	cacheDir    string
	floor       floorFlags
}

var verifyFlags verifyOpts

func init() {
	register(&command{
		Name:  "verify",
		Short: "check an enclave's hardware attestation against a manifest before trusting it",
		Usage: "pith verify --manifest FILE [--nonce HEX | --skip-binding] [--allow-dev] [--json] (--url URL | DOCUMENT)",
		Help: `Checks an attestation document (GET /v1/attestation) in one call: the vendor
certificate chain (AMD's Milan/Genoa roots or Intel's SGX root, compiled in;
never the chain the document brings alone; Turin reports are refused, by
name, until go-sev-guest reads Turin VCEKs), the report's signature, TDX's
quoting enclave and module against Intel's, the platform policy (debug off,
no migration agent, no CXL, VMPL 0, SMT; TDX's SEPT_VE_DISABLE set and no TD
attribute this verifier does not know), the SEV-SNP platform features you
require (--require-snp-platform) and the minimums you set:
--min-snp-tcb and --min-tdx-tcb for the firmware (without them any firmware
level passes), --min-tdx-qe-svn and --min-tdx-pce-svn for Intel's quoting
and provisioning enclaves, --min-tdx-tcb-evaluation for the age of Intel's
collateral (a TCB recovery raises it), --min-snp-guest-svn under the ID
block keys of --snp-id-key-digest (the flags that start --allow- weaken a
check); then
the launch measurement against the manifest you trust (SEV-SNP MEASUREMENT
for the vCPU count and type; TDX MRTD and each RTMR the manifest pins, naming
those it does not as not checked), and REPORT_DATA, which must bind your
nonce and the OHTTP key configuration the enclave serves.

With --url it asks URL/v1/attestation with a fresh random nonce. With a
DOCUMENT file it needs the --nonce the document was requested with; without
one, --skip-binding checks everything else and says plainly that freshness and
the key binding were NOT proven. Platform dev (the development stand-in) is
refused unless --allow-dev, and then the first line says nothing was proven
and the next ones, NOT CHECKED, what it cannot show: the hardware signature,
the launch measurement and the model's digest.

Nothing is downloaded unless --fetch is given: then a VCEK the document
lacks comes from AMD KDS, and TDX collateral (TCB status, revocation) from
Intel PCS even if the document carries some (the host could keep serving a
copy from before a TCB recovery until it expires), kept in --cache, and
checked against the same compiled-in roots.

Success prints what was proven in plain words; failure exits 1 naming the first
failing check; --json prints every check.

Example:
  pith verify --manifest manifest.json --url https://enclave.example:8443
  pith verify --manifest manifest.json --min-snp-tcb bootloader=4,tee=0,snp=22,microcode=213 --url https://enclave.example:8443
  pith verify --manifest manifest.json --nonce 9f86d0...(64 hex) attestation.json
  pith verify --manifest manifest.json --skip-binding --json attestation.json`,
		Flags: func(fs *flag.FlagSet) {
			f := &verifyFlags
			*f = verifyOpts{}
			fs.StringVar(&f.manifest, "manifest", "", "the image `manifest` you trust (required)")
			fs.StringVar(&f.nonce, "nonce", "", "the 32-byte `hex` nonce the DOCUMENT was requested with")
			fs.StringVar(&f.url, "url", "", "fetch the document from `URL`/v1/attestation with a fresh nonce")
			fs.BoolVar(&f.allowDev, "allow-dev", false, "accept the development stand-in (proves nothing)")
			fs.BoolVar(&f.allowDebug, "allow-debug", false, "accept guests the host may debug (never for real data)")
			fs.BoolVar(&f.allowMA, "allow-migration-agent", false, "accept SEV-SNP guests with a migration agent")
			fs.BoolVar(&f.noSMT, "no-smt", false, "refuse SEV-SNP guests on a platform that has SMT enabled (PLATFORM_INFO.SMT_EN)")
			fs.BoolVar(&f.skipBinding, "skip-binding", false, "with a DOCUMENT and no --nonce: check the rest, report the binding as NOT proven")
			fs.BoolVar(&f.json, "json", false, "print the full result with every check as JSON")
			fs.IntVar(&f.vcpus, "vcpus", 0, "require the manifest entry for this many vCPUs (SEV-SNP)")
			fs.StringVar(&f.vcpuType, "vcpu-type", "", "require the manifest entry for this vCPU `type` (SEV-SNP)")
			fs.StringVar(&f.chipIDs, "chip-ids", "", "comma-separated hex SEV-SNP CHIP_IDs to accept (default any)")
			fs.BoolVar(&f.fetch, "fetch", false, "download a missing VCEK from AMD KDS, and TDX collateral from Intel PCS\nin place of the document's (network; off by default)")
			fs.StringVar(&f.cacheDir, "cache", "", "`dir` for what --fetch downloads (default: the user cache dir's pith/attest)")
			f.floor.declare(fs)
		},
		Run: runVerify,
	})
}

func runVerify(ctx context.Context, args []string) error {
	f := verifyFlags
	if f.manifest == "" {
		return usagef("--manifest is required")
	}
	switch {
	case f.url != "" && len(args) > 0:
		return usagef("give --url or a DOCUMENT file, not both")
	case f.url == "" && len(args) != 1:
		return usagef("give --url URL or exactly one DOCUMENT file")
	case f.url != "" && (f.nonce != "" || f.skipBinding):
		return usagef("--nonce and --skip-binding are for a DOCUMENT file; --url always uses a fresh nonce")
	case f.url == "" && f.nonce == "" && !f.skipBinding:
		return usagef("a DOCUMENT needs the --nonce it was requested with, or --skip-binding to check the rest and report the binding as not proven")
	case f.nonce != "" && f.skipBinding:
		return usagef("--nonce and --skip-binding exclude each other")
	case f.vcpus < 0:
		return usagef("--vcpus %d: want a vCPU count of at least 1, or 0 for any", f.vcpus)
	}
	pol := attest.DefaultPolicy()
	pol.AllowDev, pol.AllowDebug, pol.AllowMigrationAgent, pol.AllowSMT = f.allowDev, f.allowDebug, f.allowMA, !f.noSMT
	pol.RequireVCPUs, pol.VCPUType, pol.SkipBinding = f.vcpus, f.vcpuType, f.skipBinding
	pol.Now = verifyNow
	if err := f.floor.apply(&pol); err != nil {
		return err
	}
	if f.chipIDs != "" {
		for _, s := range strings.Split(f.chipIDs, ",") {
			id, err := hex.DecodeString(strings.TrimSpace(s))
			if err != nil || len(id) != 64 {
				return usagef("--chip-ids: %q is not 64 bytes of hex", s)
			}
			pol.ChipIDs = append(pol.ChipIDs, id)
		}
	}
	if f.fetch {
		dir := f.cacheDir
		if dir == "" {
			if d, err := os.UserCacheDir(); err == nil {
				dir = filepath.Join(d, "pith", "attest")
			}
		}
		pol.Fetch = &attest.Fetcher{CacheDir: dir}
	} else if f.cacheDir != "" {
		return usagef("--cache goes with --fetch")
	}
	_, man, err := readManifest(f.manifest)
	if err != nil {
		return err
	}

	var nonce, raw []byte
	if f.url != "" {
		nonce = make([]byte, attest.NonceSize)
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		if raw, err = fetchAttestation(ctx, f.url, nonce); err != nil {
			return err
		}
	} else {
		if f.nonce != "" {
			if nonce, err = hex.DecodeString(f.nonce); err != nil || len(nonce) != attest.NonceSize {
				return usagef("--nonce: want %d bytes as %d hex digits", attest.NonceSize, 2*attest.NonceSize)
			}
		}
		if err := checkInputFile("", args[0], "an attestation document (JSON)"); err != nil {
			return err
		}
		if raw, err = readLimited(args[0], attest.MaxDocumentSize); err != nil {
			return err
		}
	}
	doc, err := attest.ParseDocument(raw)
	if err != nil {
		return err
	}
	res, verr := attest.Verify(doc, nonce, pol, man)
	if res == nil {
		return verr
	}
	if verr == nil && res.Platform == attest.Dev {
		markDevUnchecked(res, man)
	}
	if f.json {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(verifyStdout, "%s\n", b)
		return verr
	}
	if verr != nil {
		return verr
	}
	fmt.Fprintln(verifyStdout, res.Proven)
	fmt.Fprintln(verifyStdout, "\nChecks:")
	for _, c := range res.Checks {
		state := "ok  "
		if c.Skipped {
			state = "SKIP"
		}
		fmt.Fprintf(verifyStdout, "  %s %-18s %s\n", state, c.Name, c.Detail)
	}
	return nil
}

// markDevUnchecked adds to an accepted stand-in's result, as skipped
// checks and as NOT CHECKED lines right under its first line, what the
// stand-in cannot show and hardware evidence would: its "ok" signature,
// measurement and report_data read like a real platform's otherwise, and
// the model it serves is bound by nothing at all (on SEV-SNP and TDX the
// model's digest is on the measured command line, so the launch
// measurement covers it). Nothing here changes whether it was accepted.
func markDevUnchecked(res *attest.Result, man *attest.Manifest) {
	model := "the manifest names no model, and nothing in the stand-in's evidence names one"
	if man.Model != nil {
		model = fmt.Sprintf("the manifest names %s (sha256 %s), but nothing in the stand-in's evidence binds the model the server runs", man.Model.Name, man.Model.SHA256)
	}
	unchecked := []attest.Check{
		{Name: "hardware_signature", Skipped: true, Detail: "no AMD or Intel processor signed this report: the stand-in signs with a key it made at start-up, so the signature, and REPORT_DATA's binding of the OHTTP key under it, show nothing about where the server runs"},
		{Name: "launch_measurement", Skipped: true, Detail: "no hardware measured what was launched: the executable's SHA-384 is the server's own claim"},
		{Name: "model_digest", Skipped: true, Detail: model + " (on SEV-SNP and TDX its digest is on the measured command line)"},
	}
	first, rest, _ := strings.Cut(res.Proven, "\n")
	lines := []string{first}
	for _, c := range unchecked {
		res.Checks = append(res.Checks, c)
		lines = append(lines, "NOT CHECKED: "+strings.ReplaceAll(c.Name, "_", " ")+": "+c.Detail+".")
	}
	if rest != "" {
		lines = append(lines, rest)
	}
	res.Proven = strings.Join(lines, "\n")
}

// readManifest reads and checks the manifest file a command was given
// (--manifest), returning its bytes and what they say.
func readManifest(path string) ([]byte, *attest.Manifest, error) {
	if err := checkManifestFile(path); err != nil {
		return nil, nil, err
	}
	raw, err := readLimited(path, 1<<20)
	if err != nil {
		return nil, nil, err
	}
	m, err := attest.ParseManifest(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("--manifest %s: %w", path, err)
	}
	return raw, m, nil
}

// checkManifestFile refuses a --manifest that is a directory or empty.
func checkManifestFile(path string) error {
	return checkInputFile("--manifest", path, "a manifest (JSON)")
}

func readLimited(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

// fetchAttestation is client.FetchAttestation with --url checked as a
// usage error first and a time limit.
func fetchAttestation(ctx context.Context, base string, nonce []byte) ([]byte, error) {
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usagef("--url %q: want an http or https URL", base)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return client.FetchAttestation(ctx, http.DefaultClient, base, nonce)
}
