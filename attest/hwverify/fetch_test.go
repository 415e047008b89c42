package hwverify

import (
	"bytes"
	"encoding/json"
	"github.com/pith-project/pith/attest"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// fakePCS is a FAKE Intel PCS: an http.RoundTripper answering from the
// sample collateral, counting requests.
type fakePCS struct {
	col  attest.TDXCollateral
	hits int
}

func (f *fakePCS) RoundTrip(r *http.Request) (*http.Response, error) {
	f.hits++
	h, body, err := collateralGetter{&f.col}.Get(r.URL.String())
	if err != nil {
		return &http.Response{StatusCode: 404, Status: "404 Not Found", Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	hdr := http.Header{}
	for k, v := range h {
		hdr[k] = v
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: hdr, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

func TestFetchTDXCollateralCached(t *testing.T) {
	s := loadTDXSample(t)
	pcs := &fakePCS{}
	if err := json.Unmarshal(s.collateral, &pcs.col); err != nil {
		t.Fatal(err)
	}
	f := &attest.Fetcher{CacheDir: t.TempDir(), Client: &http.Client{Transport: pcs}}
	pol := tdxSamplePolicy()
	pol.Now, pol.SkipBinding, pol.Fetch = tdxSampleTime, true, f
	for round := 0; round < 2; round++ {
		before := pcs.hits
		res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: s.quote}, nil, pol, s.manifest())
		// The fetched collateral, like the shipped one, says the sample's
		// TCB is out of date: proof that it was fetched and checked.
		if got := failedCheck(t, res, err); got != "collateral" || !strings.Contains(err.Error(), "fetched collateral") {
			t.Fatalf("round %d: failed check %q (%v)", round, got, err)
		}
		if round == 0 && pcs.hits == before {
			t.Fatal("nothing fetched")
		}
		if round == 1 && pcs.hits != before {
			t.Fatalf("second round fetched %d times despite the cache", pcs.hits-before)
		}
	}
	// Without Fetch, nothing is fetched and the TCB is reported unchecked.
	pol.Fetch = nil
	before := pcs.hits
	if _, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: s.quote}, nil, pol, s.manifest()); err != nil || pcs.hits != before {
		t.Fatalf("without Fetch: %v, %d requests", err, pcs.hits-before)
	}
}

func TestFetchVCEKNeedsProductLine(t *testing.T) {
	s := loadSNPSample(t)
	pcs := &fakePCS{}
	pol := snpSamplePolicy()
	pol.SkipBinding = true
	pol.Fetch = &attest.Fetcher{Client: &http.Client{Transport: pcs}}
	ev := s.evidence()
	ev.Certificates = nil
	res, err := attest.VerifyEvidence(ev, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "certificates" || !strings.Contains(err.Error(), "product line") || pcs.hits != 0 {
		t.Fatalf("version 2 report: failed check %q (%v), %d requests", got, err, pcs.hits)
	}
}

func TestFetchErrors(t *testing.T) {
	pcs := &fakePCS{}
	f := &attest.Fetcher{Client: &http.Client{Transport: pcs}}
	if _, _, err := f.Get("https://example.invalid/"+url.PathEscape("nothing"), -1); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
}

// With Fetch, the collateral comes from Intel PCS even when the document
// carries some: a host could serve a copy from before a TCB recovery
// until it expires.
func TestFetchTDXCollateralOverDocument(t *testing.T) {
	s := loadTDXSample(t)
	pcs := &fakePCS{}
	if err := json.Unmarshal(s.collateral, &pcs.col); err != nil {
		t.Fatal(err)
	}
	pol := tdxSamplePolicy()
	pol.Now, pol.SkipBinding, pol.Fetch = tdxSampleTime, true, &attest.Fetcher{Client: &http.Client{Transport: pcs}}
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: s.quote, Collateral: s.collateral}, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "collateral" || !strings.Contains(err.Error(), "fetched collateral") || pcs.hits == 0 {
		t.Fatalf("failed check %q (%v), %d requests to PCS; want the fetched collateral checked", got, err, pcs.hits)
	}
}
