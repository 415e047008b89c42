//go:build goexperiment.runtimesecret && !pithnowipe

package kernels

import "runtime/secret"

// workersWiped says the workers' shares run inside secretDo and so leave
// nothing of a job on their stacks or in their registers.
const workersWiped = true

func secretDo(f func()) { secret.Do(f) }
