//go:build goexperiment.runtimesecret && !pithnowipe

package server

import "runtime/secret"

// secretEnabled says heap objects made inside secretDo are erased.
const secretEnabled = true

func secretDo(f func()) { secret.Do(f) }
