package clusterchaos

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// A PID the harness once started and that now belongs to another process (pid 1
// here, or this process itself) is not a leftover and gets no signal; a child still
// running is, and is killed.
func TestLeftoversAreOurChildrenOnly(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := cmd.Process.Pid
	left := Leftovers(map[int]bool{1: true, os.Getpid(): true, child: true})
	if !slices.Equal(left, []int{child}) {
		t.Fatalf("leftovers %v, want [%d]", left, child)
	}
	cmd.Wait() // killed
	if OurChild(child) {
		t.Fatalf("%d: reaped, still our child", child)
	}
	if left := Leftovers(map[int]bool{child: true}); len(left) != 0 {
		t.Fatalf("a reaped child counted: %v", left)
	}
}
