package hwverify

import (
	"time"

	"github.com/pith-project/pith/attest"
)

// amdGetter adapts Fetcher to go-sev-guest's trust.HTTPSGetter.
type amdGetter struct{ f *attest.Fetcher }

func (g amdGetter) Get(url string) ([]byte, error) {
	_, b, err := g.f.Get(url, -1)
	return b, err
}

// intelGetter adapts Fetcher to go-tdx-guest's trust.HTTPSGetter.
type intelGetter struct{ f *attest.Fetcher }

func (g intelGetter) Get(url string) (map[string][]string, []byte, error) {
	ttl := g.f.CollateralTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	return g.f.Get(url, ttl)
}
