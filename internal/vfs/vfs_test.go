package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func readAll(t *testing.T, fs FS, name string) string {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(buf)
}

func writeFile(t *testing.T, fs FS, name, data string, sync bool) File {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestFS runs one body against every implementation.
func TestFS(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   FS
		dir  string
	}{
		{"os", Default(), t.TempDir()},
		{"mem", NewMem(), "/data"},
		{"fault", NewFaultFS(Default()), t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, dir := tc.fs, filepath.Join(tc.dir, "p-0")
			if err := fs.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			a := filepath.Join(dir, "a")
			f := writeFile(t, fs, a, "hello", true)
			if _, err := f.Write([]byte(" world")); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, fs, a); got != "hello world" {
				t.Fatalf("read %q", got)
			}
			if err := f.Truncate(5); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("!")); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, fs, a); got != "hello!" {
				t.Fatalf("after truncate and append %q", got)
			}
			if size, _ := f.Size(); size != 6 {
				t.Fatalf("size %d", size)
			}
			if f.Name() != a {
				t.Fatalf("name %q", f.Name())
			}
			f.Close()
			b := filepath.Join(dir, "b")
			if err := fs.Rename(a, b); err != nil {
				t.Fatal(err)
			}
			if err := fs.SyncDir(dir); err != nil {
				t.Fatal(err)
			}
			writeFile(t, fs, filepath.Join(dir, "0"), "x", false).Close()
			names, err := fs.ReadDir(dir)
			if err != nil || len(names) != 2 || names[0] != "0" || names[1] != "b" {
				t.Fatalf("readdir %v %v", names, err)
			}
			if ok, _ := Exists(fs, a); ok {
				t.Fatal("renamed file still exists")
			}
			if info, err := fs.Stat(b); err != nil || info.Size != 6 || info.IsDir {
				t.Fatalf("stat %+v %v", info, err)
			}
			if _, err := fs.Stat(a); !os.IsNotExist(err) {
				t.Fatalf("stat missing: %v", err)
			}
			if _, err := fs.OpenFile(a, os.O_RDONLY, 0); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("open missing: %v", err)
			}
			if err := fs.Remove(b); err != nil {
				t.Fatal(err)
			}
			if err := fs.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if ok, _ := Exists(fs, dir); ok {
				t.Fatal("dir survives RemoveAll")
			}
		})
	}
}

func TestOSFileUnwrap(t *testing.T) {
	f, err := Default().OpenFile(filepath.Join(t.TempDir(), "x"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	of, ok := f.(interface{ OSFile() *os.File })
	if !ok || of.OSFile() == nil {
		t.Fatal("OS file not reachable")
	}
}

func TestMemCrash(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, m *MemFS)
		want  map[string]string // file -> content after crash; "" absent
	}{
		{"unsynced dir entry lost", func(t *testing.T, m *MemFS) {
			writeFile(t, m, "/d/a", "data", true)
		}, map[string]string{"/d/a": ""}},
		{"synced entry and data kept", func(t *testing.T, m *MemFS) {
			writeFile(t, m, "/d/a", "data", true)
			m.SyncDir("/d")
		}, map[string]string{"/d/a": "data"}},
		{"unsynced tail dropped", func(t *testing.T, m *MemFS) {
			f := writeFile(t, m, "/d/a", "abc", true)
			m.SyncDir("/d")
			f.Write([]byte("def"))
		}, map[string]string{"/d/a": "abc"}},
		{"unsynced truncate undone", func(t *testing.T, m *MemFS) {
			f := writeFile(t, m, "/d/a", "abcdef", true)
			m.SyncDir("/d")
			f.Truncate(2)
			f.Write([]byte("XY"))
		}, map[string]string{"/d/a": "abcdef"}},
		{"unsynced rename undone", func(t *testing.T, m *MemFS) {
			writeFile(t, m, "/d/a", "abc", true)
			m.SyncDir("/d")
			m.Rename("/d/a", "/d/b")
		}, map[string]string{"/d/a": "abc", "/d/b": ""}},
		{"synced rename kept", func(t *testing.T, m *MemFS) {
			writeFile(t, m, "/d/a", "abc", true)
			m.SyncDir("/d")
			m.Rename("/d/a", "/d/b")
			m.SyncDir("/d")
		}, map[string]string{"/d/a": "", "/d/b": "abc"}},
		{"unsynced remove undone", func(t *testing.T, m *MemFS) {
			writeFile(t, m, "/d/a", "abc", true)
			m.SyncDir("/d")
			m.Remove("/d/a")
		}, map[string]string{"/d/a": "abc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			if err := m.MkdirAll("/d", 0o755); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, m)
			m.Crash()
			for name, want := range tc.want {
				ok, _ := Exists(m, name)
				if want == "" {
					if ok {
						t.Errorf("%s exists after crash", name)
					}
					continue
				}
				if got := readAll(t, m, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestMemHandleAfterCrash(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	f := writeFile(t, m, "/d/a", "abc", true)
	m.Crash()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("write through a pre-crash handle succeeded")
	}
}

func TestMemFailAt(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d", 0o755)
	f := writeFile(t, m, "/d/a", "abcd", true)
	before := m.Ops()
	m.FailAt(2)
	if _, err := f.Write([]byte("ef")); err != nil {
		t.Fatalf("first op failed: %v", err)
	}
	n, err := f.Write([]byte("ghij"))
	if !errors.Is(err, ErrInjected) || n != 2 {
		t.Fatalf("second op: n=%d err=%v", n, err)
	}
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("later ops must keep failing: %v", err)
	}
	if m.Ops()-before != 3 {
		t.Fatalf("ops counted %d", m.Ops()-before)
	}
	if got := readAll(t, m, "/d/a"); got != "abcdefgh" {
		t.Fatalf("torn write stored %q", got)
	}
	m.FailAt(0)
	m.SetInjector(func(op Op, name string) error {
		if op == OpSyncDir {
			return errors.New("disk gone")
		}
		return nil
	})
	if err := m.SyncDir("/d"); err == nil {
		t.Fatal("injector ignored")
	}
	if m.SyncCount() != 1 {
		t.Fatalf("sync count %d", m.SyncCount())
	}
}

// TestFaultFS: the injector fails the operations it names, on the real
// file system beneath, until removed; the read hook sees and may change
// what a read returns.
func TestFaultFS(t *testing.T) {
	fs := NewFaultFS(Default())
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	f := writeFile(t, fs, a, "hello", true)
	fs.SetInjector(func(op Op, name string) error {
		if op == OpSync && name == a {
			return ErrInjected
		}
		return nil
	})
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("sync with the fault: %v, want ErrInjected", err)
	}
	if err := fs.SyncDir(dir); err != nil {
		t.Fatalf("an operation not named failed: %v", err)
	}
	fs.SetInjector(nil)
	if err := f.Sync(); err != nil {
		t.Fatalf("sync without the fault: %v", err)
	}
	fs.SetReadHook(func(name string, off int64, p []byte) {
		if name == a && off == 0 {
			p[0] = 'j'
		}
	})
	if got := readAll(t, fs, a); got != "jello" {
		t.Fatalf("read through the hook: %q", got)
	}
	if _, ok := any(f).(*OSFile); ok {
		t.Fatal("a FaultFS file is an OSFile: reads could bypass the hook")
	}
}
