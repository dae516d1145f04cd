//go:build unix

package tunnel

import (
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup puts the child in a new process group, so that stopping
// it stops what it started too.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopGroup asks the child's group to end (SIGTERM: the agents close their
// tunnels cleanly) and kills it 2 s later if the child is still there.
func stopGroup(cmd *exec.Cmd, exited <-chan struct{}) error {
	pgid := cmd.Process.Pid
	err := syscall.Kill(-pgid, syscall.SIGTERM)
	go func() {
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
	return err
}
