// Command freshet is Freshet's command-line tool. `freshet dev` runs
// Functions and Pipelines on one machine: an embedded NATS JetStream buffer,
// the router and functions as local processes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

const usage = `usage: freshet <command> [flags]

commands:
  dev    run Functions and Pipelines on this machine (freshet dev -h for flags)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if os.Getenv("GOGC") == "" {
		// The router allocates per event and memory is rarely the limit on a
		// machine that runs it: trade some heap for less GC CPU (measured
		// ~15-20% of freshet's CPU at the default of 100).
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "freshet: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "freshet:", err)
		os.Exit(1)
	}
}
