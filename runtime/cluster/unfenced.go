//go:build !chaos

package cluster

// unfenced is false in every build but the chaos-tagged test build (unfenced_chaos.go).
const unfenced = false
