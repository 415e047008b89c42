//go:build pithnowipe

package arena

// This build keeps request data in memory after the request: it exists
// only so that the memory-scan proof can show its scan finds canaries.
const wipeEnabled = false

// WipeDisabled reports a build with the test-only tag pithnowipe. A server
// must refuse to serve real requests when it is true.
const WipeDisabled = !wipeEnabled
