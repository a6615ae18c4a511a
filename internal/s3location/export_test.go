package s3location

// SetPartsInFlight changes how many parts an upload sends at once, for a
// test; it returns the restore.
func SetPartsInFlight(n int) (restore func()) {
	old := partsInFlight
	partsInFlight = n
	return func() { partsInFlight = old }
}
