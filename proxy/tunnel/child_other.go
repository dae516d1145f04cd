//go:build !unix

package tunnel

import "os/exec"

func ownProcessGroup(*exec.Cmd) {}

// stopGroup kills the child; on Windows its own children are left to
// notice their parent went away.
func stopGroup(cmd *exec.Cmd, _ <-chan struct{}) error {
	return cmd.Process.Kill()
}
