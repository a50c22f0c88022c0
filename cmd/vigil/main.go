// Command vigil is the one binary of Vigil: the gateway (`vigil serve`) and the tools around it.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == rdpWorkerArg {
		os.Exit(rdpWorker())
	}
	ensureOMPThreadLimit(os.Args)
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(1)
	}
}
