package join

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The token: 256 random bits, hex, in a file only its user can read.
// Every devproxy of one user reads the same file, so the owner of the
// port and its members agree without being told; another user on the
// machine, or a web page, cannot read it.

// TokenFileName is the token's file in the state directory.
const TokenFileName = "token"

// tokenBytes is the token's size: 256 bits.
const tokenBytes = 32

// StateDir is where devproxy keeps its per-user state: $DEVPROXY_STATE_DIR
// when set, else $XDG_STATE_HOME/devproxy, else ~/.local/state/devproxy.
func StateDir() (string, error) {
	if d := os.Getenv("DEVPROXY_STATE_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "devproxy"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state directory: %w (set DEVPROXY_STATE_DIR)", err)
	}
	return filepath.Join(home, ".local", "state", "devproxy"), nil
}

// TokenFile is the token's path in dir.
func TokenFile(dir string) string { return filepath.Join(dir, TokenFileName) }

// LoadOrCreateToken returns the token in dir/token, creating dir (0700)
// and the file (0600) when there is none. Two processes starting at once
// agree on one token: each writes its candidate to a file of its own and
// links it to the token's name, which fails for all but the first; then
// every process reads the file that won. A token file that group or
// others can read, or that another user owns, is refused.
func LoadOrCreateToken(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the state directory %s: %w", dir, err)
	}
	path := TokenFile(dir)
	tok, err := readToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	if err := createToken(dir, path); err != nil {
		return "", err
	}
	return readToken(path)
}

// createToken writes a new token to a temporary file and links it to
// path. Losing the race to another process is not an error: its token is
// the one.
func createToken(dir, path string) error {
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("make a token: %w", err)
	}
	f, err := os.CreateTemp(dir, ".token-*") // O_EXCL, 0600
	if err != nil {
		return fmt.Errorf("create the token file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.WriteString(hex.EncodeToString(raw[:]) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the token file %s: %w", tmp, err)
	}
	// A hard link never replaces an existing file (rename would): the
	// first process to link wins, and the others read its token.
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create the token file %s: %w", path, err)
	}
	return nil
}

// readToken reads and checks the token file.
func readToken(path string) (string, error) {
	f, err := openPrivate(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read the token file %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("the token file %s is not a regular file; remove it and devproxy makes a new one", path)
	}
	if err := checkPrivate(info, path); err != nil {
		return "", err
	}
	b := make([]byte, 2*tokenBytes+2)
	n, err := f.Read(b)
	// A file being written by another process at this moment (only
	// possible where links are not supported) is read again.
	for tries := 0; n == 0 && err != nil && tries < 20; tries++ {
		time.Sleep(25 * time.Millisecond)
		n, err = f.ReadAt(b, 0)
	}
	tok := string(bytes.TrimSpace(b[:n]))
	if len(tok) != 2*tokenBytes {
		return "", fmt.Errorf("the token file %s does not hold a token; remove it and devproxy makes a new one", path)
	}
	if _, err := hex.DecodeString(tok); err != nil {
		return "", fmt.Errorf("the token file %s does not hold a token; remove it and devproxy makes a new one", path)
	}
	return tok, nil
}
