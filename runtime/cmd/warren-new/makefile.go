package main

import (
	"bytes"
	"embed"
	"text/template"
)

//go:embed template/Makefile.tmpl
var templates embed.FS

// makefileTemplate is the fork's Makefile, template/Makefile.tmpl.
var makefileTemplate = template.Must(template.New("Makefile.tmpl").Option("missingkey=error").ParseFS(templates, "template/Makefile.tmpl"))

// forkMakefile renders the fork's Makefile for its binary name bin and the
// template it was forked from.
func forkMakefile(bin, from string) ([]byte, error) {
	var buf bytes.Buffer
	err := makefileTemplate.Execute(&buf, struct{ Bin, Template string }{bin, from})
	return buf.Bytes(), err
}
