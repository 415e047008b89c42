//go:build !goexperiment.runtimesecret || pithnowipe || !linux || !(amd64 || arm64)

package wipe

// Enabled says Do erases: not in this build, which lacks
// GOEXPERIMENT=runtimesecret, targets a platform where runtime/secret.Do
// only calls f (anything but linux/amd64 and linux/arm64), or is the
// pithnowipe control build of the memory-scan tests.
const Enabled = false

// Do calls f.
func Do(f func()) { f() }
