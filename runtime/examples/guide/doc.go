// Package guide holds the runnable examples of Warren's runtime API guide,
// docs/guide.md at the repository root. Each Example function is a complete
// program that `go test` runs and checks against its // Output: comment:
//
//	cd runtime && go test ./examples/guide -run Example -v
package guide
