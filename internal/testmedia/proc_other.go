//go:build !unix

package testmedia

import (
	"os/exec"
	"time"
)

// setProcessGroup only bounds Wait where process groups do not exist.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.WaitDelay = 5 * time.Second
}

// killProcessGroup kills the started process; its children may survive.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// terminateProcess kills the started process; there is no portable
// polite request.
func terminateProcess(cmd *exec.Cmd) {
	killProcessGroup(cmd)
}
