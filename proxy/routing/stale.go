package routing

import (
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Spec §4 [intent, changed]: while the proxy runs, a file that stops
// parsing (a half-typed edit saved by auto-save, a bad merge) keeps
// serving its last good version, marked stale wherever it is shown, until
// it parses again or is deleted. A file that never parsed contributes
// nothing. The workspace keeps, per file, the last version read from disk
// that parsed (folder.good); a file read from disk that has errors and
// such a version is stale.

// broken reports a file that has errors and so contributes no blocks. A
// file skipped with only a warning (a link that leads outside the folder)
// is not broken: it was never read, and its old content must not serve.
func broken(sf *SourceFile) bool {
	if sf.Parsed.OK {
		return false
	}
	for _, d := range sf.Parsed.Diagnostics {
		if d.Severity == routefile.Error {
			return true
		}
	}
	return false
}

// staleFiles maps each stale file of the disk views (the entry as read
// now) to its last good version. w.mu must be held.
func (w *Workspace) staleFiles() map[*SourceFile]*SourceFile {
	var out map[*SourceFile]*SourceFile
	for _, f := range w.folders {
		for rel, good := range f.good {
			cur := f.disk.files[rel]
			if cur == nil || cur == good || !broken(cur) {
				continue
			}
			if out == nil {
				out = map[*SourceFile]*SourceFile{}
			}
			out[cur] = good
		}
	}
	return out
}

// staleEntry marks a stale file for a table. The served table serves the
// last good version (its text and parse result), with the errors of the
// file on disk as Current; the editor's table keeps its own entry (the
// disk's broken version, or the editor's buffer) and says that the proxy
// serves an older version.
func staleEntry(sf, cur, good *SourceFile, served bool) *SourceFile {
	var n SourceFile
	if served {
		n = *good
		n.Path, n.Folder, n.Abs, n.Kind = cur.Path, cur.Folder, cur.Abs, cur.Kind
		n.Current = cur.Parsed
	} else {
		n = *sf
	}
	n.Stale, n.GoodSince = true, good.ModTime
	return &n
}

// staleDiag is the warning on a stale file, at its first line.
func staleDiag(sf *SourceFile) routefile.Diagnostic {
	start := routefile.Pos{Line: 1, Col: 1}
	return routefile.Diagnostic{File: sf.Path, Severity: routefile.Warning, Code: routefile.CodeStale,
		Message: sentences.Load().stale(sf.GoodSince), Range: routefile.Range{Start: start, End: start}}
}

// StaleSentence says, when the file is stale, which version the proxy
// serves ("serving the last good version from 14:02:11 …"); "" otherwise.
func (sf *SourceFile) StaleSentence() string {
	if !sf.Stale {
		return ""
	}
	return sentences.Load().stale(sf.GoodSince)
}
