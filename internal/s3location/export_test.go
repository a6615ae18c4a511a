package s3location

import (
	"testing"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// SetPartsInFlight changes how many parts an upload sends at once, for a
// test; it returns the restore.
func SetPartsInFlight(n int) (restore func()) {
	old := partsInFlight
	partsInFlight = n
	return func() { partsInFlight = old }
}

// Settle waits for the parts a writer of this package has in flight
// (locationtest.Config.Settle).
func Settle(t *testing.T, w backupset.ObjectWriter) {
	t.Helper()
	ww := w.(*writer)
	for len(ww.flights) > 0 {
		if err := ww.wait(); err != nil {
			t.Fatal(err)
		}
	}
}
