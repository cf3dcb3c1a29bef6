// Package object is Warren's programming model.
package object
