package chat

import (
	"encoding/json"
	"testing"
)

func jsonString(t *testing.T, doc []byte, key string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(m[key], &s); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return s
}
