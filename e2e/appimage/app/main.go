// Command app is the whole of the e2e "app" image (infrahubdb-e2e/app,
// built by e2e/appimage/build-image.sh): it stands for Infrahub's services
// that hold no database (infrahub-server, task-worker, task-manager) in
// Compose projects shaped like Infrahub's, where only their presence, their
// labels, their volumes and whether they run matter. It prints one line,
// then waits for SIGTERM or SIGINT (docker stop) and exits 0 at once.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("app: running %s (pid %d); stop with SIGTERM\n", strings.Join(os.Args, " "), os.Getpid())
	sig := <-sigs
	fmt.Printf("app: %v, exiting\n", sig)
}
