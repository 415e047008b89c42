//go:build !goexperiment.runtimesecret

package server

// secretEnabled says heap objects made inside secretDo are erased: not in
// this build (no GOEXPERIMENT=runtimesecret), where they stay in freed memory
// until reused.
const secretEnabled = false

func secretDo(f func()) { f() }
