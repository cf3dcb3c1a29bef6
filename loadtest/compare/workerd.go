package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// workerdSetup is what running the template on workerd needs, made by
// setup-workerd.sh in one folder: the workerd binary (npm's workerd package)
// and the template's server bundled into one module (worker.js).
type workerdSetup struct {
	bin    string // the native workerd binary
	bundle string // worker.js
}

// findWorkerd looks for setup-workerd.sh's output in dir; it says why when
// something is missing, so the comparison can run Warren alone and say so.
func findWorkerd(dir string) (workerdSetup, error) {
	if dir == "" {
		return workerdSetup{}, errors.New("no -workerd-dir given (see loadtest/compare/README.md to set it up)")
	}
	s := workerdSetup{
		bin:    filepath.Join(dir, "node_modules", "workerd", "bin", "workerd"),
		bundle: filepath.Join(dir, "worker.js"),
	}
	for _, f := range []string{s.bin, s.bundle} {
		if _, err := os.Stat(f); err != nil {
			return workerdSetup{}, fmt.Errorf("%s is not set up: %w (run loadtest/compare/setup-workerd.sh)", dir, err)
		}
	}
	if out, err := exec.Command(s.bin, "--version").CombinedOutput(); err != nil {
		return workerdSetup{}, fmt.Errorf("%s --version: %v: %s", s.bin, err, out)
	}
	return s, nil
}

// workerdConfig is the workerd configuration that serves the template's Chat
// Durable Object like `wrangler dev` would: SQLite-backed objects on local
// disk (the "do-storage" directory, given on the command line), and a stand-in
// for the static assets binding (the comparison needs no front end).
const workerdConfig = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .chat),
    (name = "assets", worker = .assets),
    (name = "do-storage", disk = (path = "do", writable = true)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);
const chat :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-10-08",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [(name = "Chat", durableObjectNamespace = "Chat"), (name = "ASSETS", service = "assets")],
  durableObjectNamespaces = [(className = "Chat", uniqueKey = "durable-chat-template-Chat", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
);
const assets :Workerd.Worker = (
  modules = [(name = "assets.js", esModule = "export default { fetch() { return new Response('not found', {status: 404}); } };")],
  compatibilityDate = "2025-10-08",
);
`

// writeWorkerdConfig writes the configuration and a copy of the bundle into dir
// (workerd embeds files relative to its configuration) and returns its path.
func writeWorkerdConfig(s workerdSetup, dir string) (string, error) {
	b, err := os.ReadFile(s.bundle)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "worker.js"), b, 0o644); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "config.capnp")
	return p, os.WriteFile(p, []byte(workerdConfig), 0o644)
}
