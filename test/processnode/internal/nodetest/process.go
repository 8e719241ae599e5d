package nodetest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcessGone reports "" once the process pid is gone, else why not. A
// zombie counts as gone, since an orphan's new parent may never reap it
// (PID 1 in a container often does not) — unless it is this process's
// child: then podrun, which started it here, has failed to reap it.
func ProcessGone(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	state, ppid, ok := parseStat(string(b))
	switch {
	case !ok:
		return fmt.Sprintf("process %d: unexpected /proc/%d/stat %q", pid, pid, b)
	case state != "Z":
		return fmt.Sprintf("process %d still exists (state %s)", pid, state)
	case ppid == os.Getpid():
		return fmt.Sprintf("process %d exited but was not reaped", pid)
	}
	return ""
}

// parseStat reads the state and parent pid of /proc/<pid>/stat:
// "pid (comm) S ppid ...", where comm may itself hold spaces and ')'.
func parseStat(stat string) (state string, ppid int, ok bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return f[0], ppid, err == nil
}
