//go:build !unix

package join

import (
	"io/fs"
	"os"
)

func openPrivate(path string) (*os.File, error) { return os.Open(path) }

// checkPrivate has nothing to check where files have no Unix mode and
// owner; the user's profile directory is private there.
func checkPrivate(fs.FileInfo, string) error { return nil }
