//go:build !linux

package hugemem

import "errors"

func alignOffset([]byte) int { return 0 }

// Advise does nothing outside Linux.
func Advise([]byte) error { return nil }

// Backing is how the kernel backs a slice (see Stat).
type Backing struct{ Advised, Huge int64 }

// Stat fails outside Linux.
func Stat([]byte) (Backing, error) { return Backing{}, errors.New("hugemem: only on Linux") }

// Enabled is false outside Linux.
func Enabled() bool { return false }
