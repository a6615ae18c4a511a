// Package pgdumptest holds real pg_dump archives for tests (README.md says
// how each was made): the archive reader's fixtures, and a whole dump for
// the fakes of other packages, whose files must pass restore's content
// check.
package pgdumptest

import "embed"

//go:embed *.pgdump *.sql
var files embed.FS

// File returns a fixture's bytes (a fresh copy).
func File(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// Dump is a whole custom-format dump (pg_dump -Fc, piped as the plugin's
// are) of a small database of three tables. Bytes appended to it are not
// read by pg_restore nor by the content check: fakes may carry their state
// there.
func Dump() []byte { return File("prefect-piped.pgdump") }

// Plain is a plain-SQL dump of the same database, which restore refuses.
func Plain() []byte { return File("prefect.sql") }
