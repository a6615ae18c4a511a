package helpertest

// Variants switch the fake neo4j-admin between the plausible behaviours of
// what the Operations Manual leaves undocumented (research NEO4J.md §7), so
// a test per variant proves the plugin right whichever way Neo4j goes. The
// zero value is the behaviour the fake always had.
type Variants struct {
	// Aggregate names the result of aggregate-backup.
	Aggregate AggregateNaming
	// AggregateSilent: aggregate prints nothing about its result.
	AggregateSilent bool
	// AggregateNothingExit, when not 0, is the exit code of aggregate on a
	// chain with nothing to aggregate (a full backup and empty ones),
	// printing "No aggregation needed"; 0 aggregates it anyway.
	AggregateNothingExit int
	// Inspect is the layout backup inspect prints.
	Inspect InspectLayout
	// BackupSkips lists databases neo4j-admin database backup silently
	// writes nothing for, while still exiting with BackupSkipExit (some 5.x
	// releases exit 0 on a failed backup, neo4j/neo4j#13107).
	BackupSkips    []string
	BackupSkipExit int
}

// AggregateNaming is where aggregate-backup puts its result ([S5][S5b]).
type AggregateNaming string

const (
	// AggregateInPlace writes the result under the name of the chain's
	// newest artifact that holds data, and removes the rest of the chain.
	AggregateInPlace AggregateNaming = ""
	// AggregateNewName writes the result under a new timestamped name (the
	// time of aggregation) beside the chain, then removes the old chain
	// (the 2025.09+ manual: "a new, recovered backup alongside").
	AggregateNewName AggregateNaming = "new-name"
	// AggregateKeepOld writes a new timestamped name and keeps the old
	// chain (as with --keep-old-backup=true).
	AggregateKeepOld AggregateNaming = "keep-old"
	// AggregateUnparsable writes the result under a name the plugin does
	// not parse as an artifact name, and removes the old chain.
	AggregateUnparsable AggregateNaming = "unparsable"
)

// UnparsableAggregateName is the name AggregateUnparsable gives the result.
func UnparsableAggregateName(db string) string { return db + ".aggregated.backup" }

// InspectLayout is what backup inspect prints ([S6]; the JSON form has no
// real sample anywhere, NEO4J-OUTPUT.md §1.8).
type InspectLayout string

const (
	// InspectTable is the documented table.
	InspectTable InspectLayout = ""
	// InspectJSONStrings is a JSON array whose values are all strings, keys
	// as the table's headers.
	InspectJSONStrings InspectLayout = "json-strings"
	// InspectJSONTyped is a JSON array with typed values and camelCase keys.
	InspectJSONTyped InspectLayout = "json-typed"
	// InspectUnknown is a layout not seen before: one "key: value" block per
	// artifact, which neither the table nor the JSON reader understands.
	InspectUnknown InspectLayout = "unknown"
	// InspectURIOnly is the third-party claim: JSON objects with only "uri".
	InspectURIOnly InspectLayout = "uri-only"
	// InspectNoTx is the documented table without its transaction
	// columns: whether a backup is full is told, its transactions not.
	InspectNoTx InspectLayout = "no-tx"
)
