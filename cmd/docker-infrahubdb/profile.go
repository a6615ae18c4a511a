package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
)

// startProfile writes a CPU profile of this run to the file
// INFRAHUBDB_CPUPROFILE names ("%p" in it becomes the process ID, so that
// each command of a script keeps its own), for performance work
// (docs/performance.md): a development aid, off unless the variable is
// set. The returned func stops it.
func startProfile() func() {
	path := os.Getenv("INFRAHUBDB_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid())))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "INFRAHUBDB_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
