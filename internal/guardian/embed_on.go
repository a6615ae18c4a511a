//go:build guardian_embed

package guardian

import _ "embed"

// The guardian binaries, built by make build before the plugin (see the
// Makefile's guardian target): a clean checkout builds without them.
var (
	//go:embed bin/guardian-linux-amd64
	guardianAmd64 []byte
	//go:embed bin/guardian-linux-arm64
	guardianArm64 []byte
)

func init() {
	embedded = func(arch string) []byte {
		switch arch {
		case "amd64":
			return guardianAmd64
		case "arm64":
			return guardianArm64
		}
		return nil
	}
}
