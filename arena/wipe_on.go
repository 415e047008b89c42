//go:build !pithnowipe

package arena

// wipeEnabled is false only in builds with the test-only tag pithnowipe,
// which the memory-scan proof uses for its control run: with wiping off the
// scan must find the canaries, which shows that the scan can see them.
const wipeEnabled = true

// WipeDisabled reports a build with the test-only tag pithnowipe. A server
// must refuse to serve real requests when it is true.
const WipeDisabled = !wipeEnabled
