package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Fetcher downloads what a document lacks from the vendors: the VCEK
// certificate from AMD's Key Distribution Service, TDX collateral from
// Intel's Provisioning Certification Service. It is opt-in (Policy.Fetch is
// nil by default, and then verification never touches the network), and it
// keeps what it got in CacheDir: a VCEK never changes for its chip and TCB,
// collateral is kept for CollateralTTL.
//
// What is fetched is checked exactly like what a document brings: against
// the compiled-in AMD and Intel roots.
type Fetcher struct {
	CacheDir      string        // "" keeps nothing
	Client        *http.Client  // nil: a client with a 30 s timeout
	CollateralTTL time.Duration // 0: one hour
}

const maxFetch = 4 << 20

type cached struct {
	Header  map[string][]string `json:"header,omitempty"`
	Body    []byte              `json:"body"`
	Fetched time.Time           `json:"fetched"`
}

// Get returns url's body and headers, from the cache when younger than ttl
// (ttl < 0: forever).
func (f *Fetcher) Get(url string, ttl time.Duration) (map[string][]string, []byte, error) {
	var path string
	if f.CacheDir != "" {
		sum := sha256.Sum256([]byte(url))
		path = filepath.Join(f.CacheDir, hex.EncodeToString(sum[:16])+".json")
		if b, err := os.ReadFile(path); err == nil {
			var c cached
			if json.Unmarshal(b, &c) == nil && (ttl < 0 || time.Since(c.Fetched) < ttl) {
				return c.Header, c.Body, nil
			}
		}
	}
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Get(url)
	if err != nil {
		return nil, nil, fmt.Errorf("attest: fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("attest: fetch %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch+1))
	if err != nil {
		return nil, nil, fmt.Errorf("attest: fetch %s: %w", url, err)
	}
	if len(body) > maxFetch {
		return nil, nil, fmt.Errorf("attest: fetch %s: larger than %d bytes", url, maxFetch)
	}
	if path != "" {
		if err := os.MkdirAll(f.CacheDir, 0o700); err == nil {
			b, _ := json.Marshal(cached{Header: resp.Header, Body: body, Fetched: time.Now()})
			tmp := path + ".tmp"
			if os.WriteFile(tmp, b, 0o600) == nil {
				os.Rename(tmp, path)
			}
		}
	}
	return resp.Header, body, nil
}
