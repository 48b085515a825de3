package plugin

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal asks the kernel to kill the plugin when the host dies without a chance to
// call Close (a crash or SIGKILL), so that no orphaned plugin outlives its host. A command that
// already sets SysProcAttr is left as the host built it.
func setParentDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
}
