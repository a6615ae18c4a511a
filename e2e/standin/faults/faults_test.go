package faults

import (
	"os"
	"path/filepath"
	"testing"
)

// "skip" lets the first occurrences of a step pass before "fail" counts.
func TestTakeSkipsThenFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, File), []byte(`{"fail":{"in-use":1},"skip":{"in-use":2}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []bool
	for range 4 {
		got = append(got, Take(dir, "in-use"))
	}
	want := []bool{false, false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Take: got %v, want %v", got, want)
		}
	}
	if Take(dir, "restore") {
		t.Fatal("a step without a failure failed")
	}
}
