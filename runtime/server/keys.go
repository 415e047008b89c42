package server

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/internal/wipe"
	"github.com/pith-project/pith/ohttp"
)

// KEM identifiers (IANA HPKE registry) of the two suites pith offers.
const (
	kemHybrid = ohttp.KEMMLKEM768X25519 // post-quantum hybrid, preferred
	kemX25519 = ohttp.KEMX25519         // RFC 9458's
)

// keyring holds the OHTTP keys: the current pair (hybrid and X25519) and,
// for a grace period after a rotation, the previous pair, so requests
// sealed to a configuration fetched just before the rotation still open.
type keyring struct {
	rand     io.Reader
	hwSecret []byte // hardware-derived, mixed into every key; nil when the platform has none
	grace    time.Duration

	mu        sync.Mutex
	next      uint8 // key id of the next configuration
	current   []*ohttp.PrivateKey
	previous  []*ohttp.PrivateKey
	prevUntil time.Time
	gw        *ohttp.Gateway
	cfg       []byte

	// currentIDs are current's key ids, kept at rotation for isCurrent,
	// which runs on every sealed request: PrivateKey.Config copies the
	// public key each time.
	currentIDs []uint8

	// collect runs the collection that erases what wipe.Do made and
	// nothing references any more (Server.collect): after keys are
	// dropped, so that they leave memory at once.
	collect func()
}

// newKeyring makes the first keys. rand is the kernel's RNG; the platform's
// derived secret, when it has one, is mixed in because the host controls
// virtio-rng and so, possibly, what the kernel's pool was fed. collect
// is Server.collect.
func newKeyring(ctx context.Context, p attest.Provider, rand io.Reader, grace time.Duration, collect func(), log *slog.Logger) (*keyring, error) {
	k := &keyring{rand: rand, grace: grace, next: 1, collect: collect}
	if p != nil {
		sec, err := p.DerivedSecret(ctx)
		switch {
		case err == nil:
			k.hwSecret = sec
			log.Info("OHTTP keys mix kernel randomness with a hardware-derived secret", "platform", string(p.Platform()))
		case errors.Is(err, attest.ErrNoDerivedKey):
			// TDX and the stand-in have none; an SEV-SNP guest without
			// /dev/sev-guest cannot ask for one. Say so: the keys then rest
			// on the kernel's randomness alone, which the host may feed.
			log.Warn("no hardware-derived secret: OHTTP keys come from kernel randomness alone", "platform", string(p.Platform()))
		default:
			return nil, fmt.Errorf("server: hardware-derived key: %w", err)
		}
	}
	if err := k.rotate(time.Now(), grace); err != nil {
		return nil, err
	}
	return k, nil
}

// keyStream is the randomness one key is made from: HKDF over fresh kernel
// randomness and the hardware secret, so neither alone decides the key.
func (k *keyring) keyStream(id uint8, kem uint16) (io.Reader, error) {
	ikm := make([]byte, 32, 32+len(k.hwSecret))
	if _, err := io.ReadFull(k.rand, ikm); err != nil {
		return nil, fmt.Errorf("server: kernel randomness: %w", err)
	}
	ikm = append(ikm, k.hwSecret...)
	info := fmt.Sprintf("pith ohttp key id %d kem %#04x", id, kem)
	seed, err := hkdf.Key(sha256.New, ikm, []byte("pith-ohttp-keys-v1"), info, 256)
	clear(ikm)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(seed), nil
}

// rotate makes a new current pair and keeps the old one for keep (the
// grace period; 0 drops it at once).
//
// The keys, and the HKDF streams they are made from, are made inside
// wipe.Do, so that once a key is dropped the runtime erases every copy:
// a key left in freed memory would open every request ever sealed to it,
// which is what rotating keys is meant to bound. Every rotation drops a
// pair (the previous one, now or by replacing it), so it ends with a
// collection.
func (k *keyring) rotate(now time.Time, keep time.Duration) error {
	defer k.collect()
	k.mu.Lock()
	id := k.next
	k.mu.Unlock()
	var fresh []*ohttp.PrivateKey
	var err error
	wipe.Do(func() { fresh, err = k.generate(id) })
	if err != nil {
		return err
	}
	var configs []ohttp.KeyConfig
	var ids []uint8
	for _, key := range fresh {
		c := key.Config()
		configs = append(configs, c)
		ids = append(ids, c.KeyID)
	}
	cfg := ohttp.MarshalKeyConfigs(configs)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.previous, k.prevUntil = k.current, now.Add(keep)
	k.current, k.currentIDs = fresh, ids
	k.next = id + 2
	k.cfg = cfg
	return k.rebuild(now)
}

// generate makes the pair of keys with ids id and id+1.
func (k *keyring) generate(id uint8) ([]*ohttp.PrivateKey, error) {
	var fresh []*ohttp.PrivateKey
	for i, kem := range []uint16{kemHybrid, kemX25519} {
		r, err := k.keyStream(id+uint8(i), kem)
		if err != nil {
			return nil, err
		}
		key, err := ohttp.GenerateKey(id+uint8(i), kem, r)
		if err != nil {
			return nil, fmt.Errorf("server: ohttp key %#04x: %w", kem, err)
		}
		fresh = append(fresh, key)
	}
	return fresh, nil
}

func (k *keyring) rebuild(now time.Time) error {
	keys := append([]*ohttp.PrivateKey(nil), k.current...)
	if now.Before(k.prevUntil) {
		keys = append(keys, k.previous...)
	} else {
		k.previous = nil
	}
	gw, err := ohttp.NewGateway(keys...)
	if err != nil {
		return fmt.Errorf("server: ohttp gateway: %w", err)
	}
	k.gw = gw
	return nil
}

// expire drops the previous keys once their grace period is over.
func (k *keyring) expire(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.previous != nil && !now.Before(k.prevUntil) {
		k.rebuild(now) // the same keys as before minus some: cannot fail
		k.collect()
	}
}

func (k *keyring) config() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cfg
}

// isCurrent reports whether key id is one of the current pair, not a
// previous one kept for its grace period.
func (k *keyring) isCurrent(id uint8) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Contains(k.currentIDs, id)
}

func (k *keyring) gateway() *ohttp.Gateway {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gw
}

// rotateEvery rotates the keys on a schedule until ctx ends.
func (k *keyring) rotateEvery(ctx context.Context, every time.Duration, log func(error)) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(min(every, k.grace))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(last) >= every {
				if err := k.rotate(now, k.grace); err != nil {
					log(err)
					continue
				}
				last = now
			}
			k.expire(now)
		}
	}
}

// RotateKeys makes new OHTTP keys now. With keepPrevious the old ones
// still open requests for the grace period; without, they are dropped at
// once (a key thought compromised), and clients holding them get RFC 9458
// section 5.3's key problem (400) and verify the enclave again.
func (s *Server) RotateKeys(keepPrevious bool) error {
	var keep time.Duration
	if keepPrevious {
		keep = s.keys.grace
	}
	return s.keys.rotate(time.Now(), keep)
}
