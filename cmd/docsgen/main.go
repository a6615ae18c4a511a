// Command docsgen rewrites the command reference (docs/reference, Markdown
// and man pages) from the cobra commands: `make docs` runs it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/opsmill/docker-infrahubdb/internal/docsgen"
)

func main() {
	dir := flag.String("dir", "docs/reference", "reference directory (Markdown; man pages go to its man/ folder)")
	flag.Parse()
	if err := docsgen.Generate(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "docsgen:", err)
		os.Exit(1)
	}
}
