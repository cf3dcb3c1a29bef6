// Command warren-new forks one of Warren's app templates into a new, standalone
// Go module with its own front end, tests, Makefile and README.
//
//	warren-new [flags] TEMPLATE MODULE [DIR]
//
// TEMPLATE is an app of the gallery (chat, multiplayer-globe, collab-editor,
// dashboard: every apps/<name>/go.mod of the checkout). MODULE is the new Go module
// path (example.com/me/mychat). DIR defaults to the module path's last element and
// must not exist or be empty.
//
// The templates are read from a Warren checkout, because each app is a module of its
// own and cannot be embedded in this one: warren-new looks for the checkout by
// walking up from the working directory (a directory holding runtime/go.mod and
// apps/), or takes it from -from. From the checkout:
//
//	make new TEMPLATE=chat NAME=example.com/me/mychat DIR=../mychat
//	cd runtime && go run ./cmd/warren-new chat example.com/me/mychat ../mychat
//
// Once the runtime module is published, from anywhere inside a checkout:
//
//	go run github.com/warrenhq/warren/runtime/cmd/warren-new@latest chat example.com/me/mychat
//
// The fork requires github.com/warrenhq/warren/runtime (and, for its browser
// tests, github.com/warrenhq/warren/browsertest). By default it replaces them
// with the checkout's folders (absolute paths, so the fork builds offline and
// follows local changes to the runtime); -runtime v0.1.0 pins both to a published
// version instead (then run `go mod tidy` in the fork, which needs the network).
// The template's go.mod is read and written with golang.org/x/mod/modfile, and
// the fork's Makefile is template/Makefile.tmpl, embedded. See the fork's README,
// section "Warren runtime version".
//
// The fork is named after MODULE's last element: its binary (bin/<name>), its
// logs and its default data directory (./data/<name>). It listens by default on
// a port of its own (-port, else the first free one from 8791 on), so it runs
// beside the templates. Its package-lock.json is cut from the checkout's, so it
// installs the versions the template was tested with, offline from npm's cache
// when npm_config_offline=true.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "warren-new:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("warren-new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the Warren checkout to read templates from (default: found by walking up from the working directory)")
	version := fs.String("runtime", "", "pin github.com/warrenhq/warren/runtime and browsertest to this published `version` instead of replacing them with the checkout's folders")
	list := fs.Bool("list", false, "list the templates and exit")
	port := fs.Int("port", 0, "the fork's default listen `port` (default: the first free one from 8791 on; the templates use 8787-8790)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: warren-new [flags] TEMPLATE MODULE [DIR]\n\n"+
			"Forks a Warren app template into DIR (default: MODULE's last element) as a standalone\n"+
			"Go module MODULE with its own front end, tests, Makefile (make build, make test, make run)\n"+
			"and README.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	checkout := *from
	if checkout == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if checkout, err = FindCheckout(wd); err != nil {
			return err
		}
	}
	if *list {
		names, err := Templates(checkout)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, strings.Join(names, "\n"))
		return nil
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return errors.New("want TEMPLATE MODULE [DIR]")
	}
	opts := Options{
		Checkout:       checkout,
		Template:       fs.Arg(0),
		Module:         fs.Arg(1),
		Dir:            fs.Arg(2),
		RuntimeVersion: *version,
		Port:           *port,
	}
	if opts.Dir == "" {
		opts.Dir = opts.Module[strings.LastIndex(opts.Module, "/")+1:]
	}
	res, err := Fork(opts)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warren-new: warning:", w)
	}
	rel := res.Dir
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, res.Dir); err == nil && !strings.HasPrefix(r, "..") {
			rel = r
		}
	}
	fmt.Fprintf(stdout, "Forked template %s into %s as module %s.\n\n  cd %s\n  make run     # build the front end and bin/%s, then serve it on http://127.0.0.1:%d\n  make test    # go vet, unit tests, browser tests\n",
		opts.Template, res.Dir, opts.Module, rel, path.Base(opts.Module), res.Port)
	return nil
}
