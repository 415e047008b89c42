//go:build !goexperiment.runtimesecret || pithnowipe

package server

// secretEnabled says heap objects made inside secretDo are erased: not in
// this build (no GOEXPERIMENT=runtimesecret), where they stay in freed memory
// until reused; nor in the pithnowipe control build of the memory-scan test.
const secretEnabled = false

func secretDo(f func()) { f() }
