package cli

import (
	"bufio"
	"io"
	"os"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

// givenCredentials are the credentials the operator gave, in the order the
// docs (how-it-works.md, Credentials) document: NEO4J_AUTH in the plugin's environment, then
// --password-stdin. nil means "find them in the deployment": the database
// container's NEO4J_AUTH (or its file), then infrahub-server's
// INFRAHUB_DB_USERNAME/INFRAHUB_DB_PASSWORD (deployment.FindCredentials).
func givenCredentials(passwordStdin bool, username string, stdin io.Reader) (*neo4j.Credentials, error) {
	if v, ok := os.LookupEnv("NEO4J_AUTH"); ok {
		creds, err := neo4j.ParseAuth(v)
		if err != nil {
			return nil, usageError("NEO4J_AUTH: %v", err)
		}
		return &creds, nil
	}
	if passwordStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, usageError("--password-stdin: reading stdin: %v", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return nil, usageError("--password-stdin: stdin was empty; pipe the password in, e.g. 'cat pw.txt | docker infrahubdb restore ... --password-stdin'")
		}
		return &neo4j.Credentials{User: username, Password: password}, nil
	}
	return nil, nil
}
