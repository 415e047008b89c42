//go:build goexperiment.runtimesecret && !pithnowipe && linux && (amd64 || arm64)

package wipe

import "runtime/secret"

// Enabled says Do erases: true in this build.
const Enabled = true

// Do runs f inside runtime/secret.Do.
func Do(f func()) { secret.Do(f) }
