//go:build unix

package join

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openPrivate opens the token file without following a symlink: a link
// planted in its place must not make devproxy read another file.
func openPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, err
		}
		return nil, fmt.Errorf("read the token file %s: %w", path, err)
	}
	return f, nil
}

// checkPrivate refuses a token file that group or others can read, or
// that another user owns: they could read it, or have chosen it.
func checkPrivate(info fs.FileInfo, path string) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("the token file %s can be read by other users (mode %v); run chmod 600 %s", path, perm, path)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("the token file %s belongs to user %d, not to you (%d); remove it, or run chown %d %s and chmod 600 %s", path, st.Uid, uid, uid, path, path)
	}
	return nil
}
