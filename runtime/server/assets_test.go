package server_test

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/warrenhq/warren/runtime/server"
)

func TestDist(t *testing.T) {
	embedded := fstest.MapFS{
		"web/dist/index.html": {Data: []byte("<!doctype html>")},
		"web/dist/app.js":     {Data: []byte("1")},
		"main.go":             {Data: []byte("package main")},
	}
	dist := server.Dist(embedded, "web/dist")
	if err := fstest.TestFS(dist, "index.html", "app.js"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(dist, "main.go"); err == nil {
		t.Fatal("Dist exposes files outside dir")
	}
	for _, dir := range []string{"../dist", "/web/dist", "web/dist/", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Dist(%q) did not panic", dir)
				}
			}()
			server.Dist(embedded, dir)
		}()
	}
}
