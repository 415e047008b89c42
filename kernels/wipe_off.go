//go:build !goexperiment.runtimesecret || pithnowipe

package kernels

// workersWiped says the workers' shares run inside secretDo and so leave
// nothing of a job on their stacks or in their registers: not in this
// build (no GOEXPERIMENT=runtimesecret), nor in the pithnowipe control
// build of the memory-scan test.
const workersWiped = false

func secretDo(f func()) { f() }
