package store

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

func TestStateDirLockInOneProcess(t *testing.T) {
	root := t.TempDir()
	d, err := OpenStateDir(root, "app")
	must(t, err)
	if _, err := OpenStateDir(root, "app"); !errors.Is(err, ErrStateDirLocked) {
		t.Fatalf("second open: %v, want ErrStateDirLocked", err)
	}
	other, err := OpenStateDir(root, "other-app") // another application is another lock
	must(t, err)
	must(t, other.Close())
	must(t, d.Close())
	must(t, d.Close())
	d, err = OpenStateDir(root, "app")
	must(t, err)
	must(t, d.Close())
}

// TestStateDirLockAcrossProcesses holds the lock in a child process (this
// test binary, running TestStateDirHelperHoldsLock) until told to exit.
func TestStateDirLockAcrossProcesses(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStateDirHelperHoldsLock$")
	cmd.Env = append(os.Environ(), "FJORD_STATEDIR_HELPER_ROOT="+root)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	if _, err := OpenStateDir(root, "app"); !errors.Is(err, ErrStateDirLocked) {
		t.Fatalf("open while another process holds it: %v, want ErrStateDirLocked", err)
	}
	must(t, stdin.Close()) // the helper exits, and the kernel drops its lock
	must(t, cmd.Wait())
	d, err := OpenStateDir(root, "app")
	must(t, err)
	must(t, d.Close())
}

func TestStateDirHelperHoldsLock(t *testing.T) {
	root := os.Getenv("FJORD_STATEDIR_HELPER_ROOT")
	if root == "" {
		t.Skip("helper of TestStateDirLockAcrossProcesses")
	}
	if _, err := OpenStateDir(root, "app"); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
}

func TestStateDirProcessIDIsStable(t *testing.T) {
	root := t.TempDir()
	d, err := OpenStateDir(root, "app")
	must(t, err)
	id := d.ProcessID()
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("process id %q is not a version 4 UUID", id)
	}
	must(t, d.Close())
	d, err = OpenStateDir(root, "app")
	must(t, err)
	if d.ProcessID() != id {
		t.Fatalf("process id changed across restarts: %q, then %q", id, d.ProcessID())
	}
	must(t, d.Close())

	// A damaged file gets a new id rather than failing the start.
	must(t, os.WriteFile(filepath.Join(root, "app", processFileName), []byte("{garbage"), 0o600))
	d, err = OpenStateDir(root, "app")
	must(t, err)
	if d.ProcessID() == id || d.ProcessID() == "" {
		t.Fatalf("process id after damage: %q", d.ProcessID())
	}
	must(t, d.Close())
}

func TestStateDirTaskDirs(t *testing.T) {
	d, err := OpenStateDir(t.TempDir(), "app")
	must(t, err)
	defer d.Close()
	for _, id := range []string{"1_0", "0_1", "0_0"} {
		dir, err := d.TaskDir(id)
		must(t, err)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() || info.Mode().Perm() != dirMode {
			t.Fatalf("task dir %s: %v, %v", dir, info, err)
		}
	}
	ids, err := d.ListTaskDirs()
	must(t, err)
	if !slices.Equal(ids, []string{"0_0", "0_1", "1_0"}) {
		t.Fatalf("ListTaskDirs = %q", ids)
	}
	dir, _ := d.TaskDir("0_1")
	must(t, os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o600))
	must(t, d.RemoveTaskDir("0_1"))
	must(t, d.RemoveTaskDir("never-made"))
	if ids, _ := d.ListTaskDirs(); !slices.Equal(ids, []string{"0_0", "1_0"}) {
		t.Fatalf("after remove: %q", ids)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", ".lock", "a b"} {
		if _, err := d.TaskDir(bad); err == nil {
			t.Errorf("TaskDir(%q) accepted", bad)
		}
		if err := d.RemoveTaskDir(bad); err == nil {
			t.Errorf("RemoveTaskDir(%q) accepted", bad)
		}
	}
	if _, err := OpenStateDir(t.TempDir(), "../escape"); err == nil {
		t.Error("OpenStateDir accepted a path as application id")
	}
	must(t, d.Close())
	if _, err := d.TaskDir("0_0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("TaskDir after Close: %v", err)
	}
}
