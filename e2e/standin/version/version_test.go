package version

import "testing"

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v, min string
		want   bool
	}{
		{"5.26.0", "5.25", true}, {"5.26.0", "2025.01", false}, {"2025.10.1", "2025.06", true},
		{"2025.05.0", "2025.06", false}, {"2025.06.0", "2025.06", true}, {"2025.10.1", "2025.11", false},
		{"2026.01.0", "2025.11", true}, {"5.24.2", "5.24", true}, {"5.20.0", "5.24", false},
	} {
		if got := AtLeast(tc.v, tc.min); got != tc.want {
			t.Errorf("AtLeast(%q, %q) = %v, want %v", tc.v, tc.min, got, tc.want)
		}
	}
}
