package model

// FirstLayerOnly returns a copy of m that runs only its first layer, for
// tests that measure how much the other layers move the output.
func FirstLayerOnly(m *Model) *Model {
	c := *m
	c.layers = m.layers[:1]
	c.Config.Layers = 1
	return &c
}
