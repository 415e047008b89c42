package attest

import (
	"crypto/ecdsa"
	"crypto/sha512"
	"fmt"
)

func verifyDev(ev *Evidence, _ Policy, m *Manifest, c *Recorder) *Observed {
	r, err := parseDevReport(ev.Report)
	if !c.Add("report", err == nil, "dev report parsed", fmt.Sprint(err)) {
		return nil
	}
	h := sha512.Sum384(r.signed)
	c.Add("signature", ecdsa.Verify(r.pub, h[:], r.r, r.s),
		"signed by the stand-in's own start-up key (integrity in transit only)",
		"the dev report's ECDSA P-384 signature does not verify")
	obs := &Observed{Measurement: r.measurement, ReportData: r.reportData}
	switch {
	case m == nil:
		c.Add("measurement", false, "", "no manifest given")
	case m.Dev == nil:
		c.Add("measurement", false, "", fmt.Sprintf("got %x, manifest has no dev measurement", r.measurement))
	default:
		if c.Add("measurement", expectHex(r.measurement, m.Dev.Measurement), "executable SHA-384 matches the manifest's dev entry",
			fmt.Sprintf("got %x, manifest expects %s for the dev stand-in", r.measurement, m.Dev.Measurement)) {
			obs.Matched = "dev stand-in"
			obs.Facts = append(obs.Facts, fmt.Sprintf("The stand-in claims to run the executable with SHA-384 %x, as the manifest expects (a claim, not a proof).", r.measurement))
		}
	}
	return obs
}
