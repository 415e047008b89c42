package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pith-project/pith/client"
	"github.com/pith-project/pith/internal/memscan"
)

// sealedGenerate sends one short raw generation, sealed, with a fresh nonce
// (also in the prompt, as a canary for the scan afterwards), and reports
// whether it was answered (the client checks the nonce echo) or refused as busy.
func sealedGenerate(ctx context.Context, c *client.Client, unchunked bool) (nonce string, busy bool, err error) {
	b := make([]byte, 16)
	rand.Read(b)
	nonce = hex.EncodeToString(b)
	body := fmt.Sprintf(`{"model":"tiny","raw":true,"stream":false,"prompt":"id %s","options":{"num_predict":3,"temperature":0}}`, nonce)
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://pith/api/generate", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(client.NonceHeader, nonce)
	resp, err := c.RoundTrip(req)
	var be *client.BusyError
	if errors.As(err, &be) {
		return nonce, true, nil
	}
	if err != nil {
		return nonce, false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nonce, false, err
	}
	if resp.StatusCode != 200 {
		return nonce, false, fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	return nonce, false, nil
}

// TestLoad: 300 sealed requests, 8 at a time, then a burst of 48 at once
// against a queue of 16. Every request is answered with its own nonce or
// refused with 503; the server's resident memory returns to within 5% of
// its baseline; and the memory scan is still clean afterwards.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("300 sealed requests")
	}
	s := startServeArgs(t, pithBinary(t), nil, "--queue", "16")
	pid := s.proc.Cmd.Process.Pid
	ctx := context.Background()
	// Warm up at the load's own concurrency, so the baseline is the heap and
	// arenas at their working size, not a server that has seen one client.
	var warm sync.WaitGroup
	for w := range 8 {
		warm.Add(1)
		go func() {
			defer warm.Done()
			for i := range 4 {
				if _, _, err := sealedGenerate(ctx, s.client, (w+i)%2 == 0); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	warm.Wait()
	if t.Failed() {
		t.FailNow()
	}
	time.Sleep(500 * time.Millisecond)
	base, err := RSS(pid)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		nonces  [][]byte
		ok      atomic.Int64
		refused atomic.Int64
		failed  atomic.Int64
	)
	run := func(n, conc int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, conc)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func(i int) {
				defer wg.Done()
				defer func() { <-sem }()
				nonce, busy, err := sealedGenerate(ctx, s.client, i%3 == 0)
				switch {
				case err != nil:
					failed.Add(1)
					t.Errorf("request %d: %v", i, err)
				case busy:
					refused.Add(1)
				default:
					ok.Add(1)
				}
				mu.Lock()
				nonces = append(nonces, []byte(nonce))
				mu.Unlock()
			}(i)
		}
		wg.Wait()
	}
	start := time.Now()
	run(300, 8)
	steady := time.Since(start)
	if refused.Load() != 0 {
		t.Errorf("%d of 300 refused at concurrency 8 with a queue of 16", refused.Load())
	}
	run(48, 48)
	t.Logf("300 requests at concurrency 8 in %.1fs (%.1f/s); burst of 48: %d answered, %d refused with 503, %d failed",
		steady.Seconds(), 300/steady.Seconds(), ok.Load()-300, refused.Load(), failed.Load())
	if refused.Load() == 0 {
		t.Error("a burst of 48 against a queue of 16 refused nothing: the queue bound does not hold")
	}
	if got := ok.Load() + refused.Load(); got != 348 {
		t.Errorf("%d of 348 requests answered or refused", got)
	}

	time.Sleep(time.Second)
	after, err := RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resident memory: %d MB before, %d MB after", base>>20, after>>20)
	if float64(after) > 1.05*float64(base) {
		t.Errorf("resident memory grew from %d to %d bytes (more than 5%%)", base, after)
	}

	var needles []memscan.Needle
	for i, n := range nonces {
		needles = append(needles, memscan.Needle{Name: fmt.Sprintf("nonce %d", i), Bytes: n})
	}
	res := scanServer(t, pid, needles, memscan.Options{SkipUnreadable: true})
	t.Logf("scan after load: %d MB, %d hits for %d nonces", res.BytesScanned>>20, res.Total(), len(needles))
	if res.Total() != 0 {
		for _, l := range res.Describe() {
			t.Log(l)
		}
		t.Fatalf("request nonces left in memory after the load:\n%s", res)
	}
}
