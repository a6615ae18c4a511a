package progress

// Files returns a progress callback (the shape backupset uses while it
// hashes or copies files) that reports each file as its own step, ID
// idPrefix+name, Text text+" "+name, Done once all its bytes are through.
func Files(w Writer, idPrefix, text string) func(name string, done, total int64) {
	return func(name string, done, total int64) {
		status := Working
		if done == total {
			status = Done
		}
		w.Event(Event{ID: idPrefix + name, Text: text + " " + name, Status: status, Current: done, Total: total})
	}
}
