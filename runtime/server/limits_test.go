package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/model"
)

func newWithLimits(t *testing.T, lim Limits) (*Server, error) {
	t.Helper()
	dev, err := attest.NewDevProvider(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Model: testModel(t), Attest: dev, Limits: lim, AllowUnlockedArena: true, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// A zero field of Limits takes the default's value, whichever field it
// is, and a negative one is refused by name: a zero RequestTimeout, say,
// ended every generation before it began, and a negative MaxBody refused
// every body.
func TestLimitsZeroIsDefault(t *testing.T) {
	ref, err := newWithLimits(t, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	lt := reflect.TypeFor[Limits]()
	for i := range lt.NumField() {
		name := lt.Field(i).Name
		t.Run(name, func(t *testing.T) {
			lim := DefaultLimits()
			reflect.ValueOf(&lim).Elem().Field(i).SetZero()
			s, err := newWithLimits(t, lim)
			if err != nil {
				t.Fatalf("zero %s: %v", name, err)
			}
			if s.cfg.Limits != ref.cfg.Limits {
				t.Fatalf("zero %s: limits %+v, want the default's %+v", name, s.cfg.Limits, ref.cfg.Limits)
			}
			lim = DefaultLimits()
			reflect.ValueOf(&lim).Elem().Field(i).SetInt(-1)
			if _, err := newWithLimits(t, lim); err == nil || !strings.Contains(err.Error(), "server: limits: "+name) {
				t.Fatalf("negative %s: %v, want a refusal that names it", name, err)
			}
		})
	}
	// And the server runs: a generation under a zero RequestTimeout.
	lim := DefaultLimits()
	lim.RequestTimeout = 0
	s, err := newWithLimits(t, lim)
	if err != nil {
		t.Fatal(err)
	}
	opts := model.Options{Temperature: 0, TopP: 1, RepeatPenalty: 1, NumPredict: 4, NumCtx: 256, Seed: 1}
	if err := s.generate(context.Background(), "hello", nil, opts, false, func([]byte) error { return nil },
		func(model.Result, json.RawMessage) error { return nil }); err != nil {
		t.Fatalf("a generation with RequestTimeout left zero: %v", err)
	}
}
