// Package wipe runs the work that touches a request's content so that the
// Go runtime erases what it leaves behind: wipe.Do is runtime/secret.Do
// where that erases (GOEXPERIMENT=runtimesecret on linux/amd64 or
// linux/arm64), and a plain call elsewhere and in the pithnowipe control
// build, with Enabled saying which.
//
// Inside Do, f's registers and stack are erased before Do returns, and the
// heap objects f allocated once the collector finds them unreachable.
// Protection covers only the calling goroutine: a goroutine that touches a
// request on another's behalf (the kernels' workers) runs that work inside
// its own Do.
package wipe
