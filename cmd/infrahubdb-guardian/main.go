// Command infrahubdb-guardian is the guardian alone, as a small static
// binary that make build embeds into the plugin, one per architecture
// (internal/guardian/agent says what it does).
package main

import (
	"os"

	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
)

func main() {
	os.Exit(agent.Main())
}
