package cluster

import (
	"os/exec"
	"strings"
	"testing"
)

// The single-node runtime neither starts nor links NATS: none of the packages an app
// builds on without cluster mode depends on it.
func TestSingleNodePackagesDoNotLinkNATS(t *testing.T) {
	for _, pkg := range []string{"../object", "../server", "../objecttest"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "nats-io") || strings.HasSuffix(dep, "/runtime/cluster") {
				t.Fatalf("%s depends on %s", pkg, dep)
			}
		}
	}
}
