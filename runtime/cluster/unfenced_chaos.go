//go:build chaos

package cluster

import "os"

// unfenced, in a chaos-tagged test build only, turns fencing off when
// WARREN_CHAOS_UNFENCED=1: a commit is not refused when the node's lease lapsed, and
// appends do not name the record they follow, so a superseded owner's (a zombie's)
// commits are accepted. It is the deliberate bug the cluster chaos harness must catch
// (runtime/clusterchaos); a build without the chaos tag has the constant false.
var unfenced = os.Getenv("WARREN_CHAOS_UNFENCED") == "1"
