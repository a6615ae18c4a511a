// Package backupport is the stand-in's private backup-port protocol: the
// server side (inside the Neo4j stand-in server) serves a consistent full or
// differential snapshot of a database's transaction log, and the client side
// (neo4j-admin database backup) fetches it.
//
// The client connects over TCP and sends one JSON line (Request); the server
// answers one JSON line (Header) followed by exactly Header.Count lines, each
// a store.Tx encoded as in the transaction log, and closes the connection.
package backupport

// Request is the one line a client sends. AfterTx 0 and StoreID "" ask for
// a full snapshot.
//
// Listing (added by H2 for `neo4j-admin database backup "*"` and globs): a
// Request with Database "*" asks which databases exist; the server answers
// ONE line, a JSON array of every database name in its registry, e.g.
// ["neo4j","system"], and closes the connection (no Header line). The client
// matches names and globs against that list, then asks for each database.
type Request struct {
	Database string `json:"database"`
	AfterTx  int64  `json:"afterTx"`
	StoreID  string `json:"storeId"`
}

// Header is the one line the server answers before the transactions.
type Header struct {
	OK            bool   `json:"ok"`
	Error         string `json:"error,omitempty"`
	Database      string `json:"database,omitempty"`
	StoreID       string `json:"storeId,omitempty"`
	Full          bool   `json:"full"`
	FromTx        int64  `json:"fromTx"`
	ToTx          int64  `json:"toTx"`
	Count         int    `json:"count"`
	ServerVersion string `json:"serverVersion,omitempty"`
	StoreFormat   string `json:"storeFormat,omitempty"` // "aligned" or "block"
	Corrupt       bool   `json:"corrupt"`
	// Variants are the server's variant knobs (e2e/standin/faults), relayed
	// to the backup helper, which has no /data of the server's.
	Variants map[string]string `json:"variants,omitempty"`
}
