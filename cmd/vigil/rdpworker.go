package main

import "github.com/seed18fc72c3/vigil/proxy/rdp/worker"

// rdpWorkerArg is the hidden subcommand that makes this binary an RDP worker: proxy/rdp starts
// one per RDP session (the gateway's own executable, re-executed) so that FreeRDP runs in a
// process of its own. It is dispatched before cobra because the worker's stdin and stdout carry
// the framed protocol of proxy/rdp/FORMAT.md: no flags, no config, no output of its own.
const rdpWorkerArg = "rdp-worker"

func rdpWorker() int { return worker.Main() }
