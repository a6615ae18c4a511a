package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// databaseURLHint is how the lower layers end a "no database container"
// error: only backup has --database-url, so the other commands drop it
// instead of suggesting a flag they refuse.
const databaseURLHint = ", or give the database address with --database-url"

func withoutForeignHints(cmd *cobra.Command, msg string) string {
	if cmd.Flags().Lookup("database-url") == nil {
		msg = strings.ReplaceAll(msg, databaseURLHint, "")
	}
	return msg
}
