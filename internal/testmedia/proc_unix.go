//go:build unix

package testmedia

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup makes cmd the leader of a new process group, so
// killProcessGroup reaches the browser's helper processes too.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Wait also waits for the output copier, which a stray child holding
	// the pipe could block; give up on it after a while.
	cmd.WaitDelay = 5 * time.Second
}

// killProcessGroup sends SIGKILL to the process group led by cmd.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// terminateProcess sends SIGTERM to cmd's process only: the browser
// then shuts its helper processes down and reaps them itself, leaving no
// zombies behind for init. killProcessGroup deals with any that remain.
func terminateProcess(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
}
