package neo4j

import (
	"fmt"
	"strings"
)

// SystemDatabase is the database that holds users, roles and the registry of
// databases; administration commands run against it.
const SystemDatabase = "system"

// ValidateName checks a database name against Neo4j 5's naming rules, so a
// bad name is refused before anything is stopped, with the rule it breaks.
// Names are case-insensitive (Neo4j stores them lowercase); see Normalize.
func ValidateName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("invalid database name %q: must be 3 to 63 characters long, has %d", name, len(name))
	}
	if !isASCIILetter(name[0]) {
		return fmt.Errorf("invalid database name %q: must start with an ASCII letter", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isASCIILetter(c) && !isASCIIDigit(c) && c != '.' && c != '-' {
			return fmt.Errorf("invalid database name %q: only ASCII letters, digits, '.' and '-' are allowed, found %q", name, rune(c))
		}
	}
	if last := name[len(name)-1]; last == '.' || last == '-' {
		return fmt.Errorf("invalid database name %q: must not end with %q", name, rune(last))
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, SystemDatabase) && lower != SystemDatabase {
		return fmt.Errorf("invalid database name %q: the prefix %q is reserved for internal use", name, SystemDatabase)
	}
	return nil
}

// Normalize validates name and returns it the way Neo4j stores it: lowercase.
func Normalize(name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return strings.ToLower(name), nil
}

// Quote backtick-quotes an identifier for Cypher, doubling any backtick in
// it. Names containing '-' or '.' must be quoted; quoting always is simplest.
func Quote(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isASCIIDigit(c byte) bool  { return c >= '0' && c <= '9' }
