package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MetadataStatements returns the statements a backup taken with
// --include-metadata=include records for db, in the order restore writes
// them to restore_metadata.cypher: the roles and their privileges on the
// database (roles, all), then the users and their role grants (users, all).
// The database is always the parameter $database, as in the real script,
// so the script can be run for a database restored under another name.
// "none", and any backup of system, records nothing.
func MetadataStatements(db, include string) []string {
	if db == "system" || include == "none" || include == "" {
		return nil
	}
	var out []string
	if include == "all" || include == "roles" {
		for _, role := range []string{"admin", "architect", "publisher", "editor", "reader", "PUBLIC"} {
			if role != "PUBLIC" {
				out = append(out, "CREATE ROLE `"+role+"` IF NOT EXISTS;")
			}
			out = append(out, "GRANT ACCESS ON DATABASE $database TO `"+role+"`;")
			if role != "PUBLIC" {
				out = append(out,
					"GRANT TRAVERSE ON GRAPH $database NODE * TO `"+role+"`;",
					"GRANT READ {*} ON GRAPH $database NODE * TO `"+role+"`;")
			}
			if role == "admin" || role == "architect" || role == "publisher" || role == "editor" {
				out = append(out, "GRANT WRITE ON GRAPH $database TO `"+role+"`;")
			}
		}
	}
	if include == "all" || include == "users" {
		// A stand-in cannot know the server's password hash; the shape
		// (<version>,<hash>,<salt>) is the real one.
		h := sha256.Sum256([]byte("standin-user-neo4j-" + db))
		hash := hex.EncodeToString(h[:])
		out = append(out,
			"CREATE USER `neo4j` IF NOT EXISTS SET ENCRYPTED PASSWORD '1,"+hash[:32]+","+hash[32:]+"' CHANGE NOT REQUIRED;",
			"GRANT ROLE `admin` TO `neo4j`;")
	}
	return out
}

// MetadataScript is the content of restore_metadata.cypher for statements.
func MetadataScript(statements []string) string {
	if len(statements) == 0 {
		return ""
	}
	return strings.Join(statements, "\n") + "\n"
}
