package routing

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Decisions are data (house style 14). The engine says why a block takes
// no requests with an InactiveReason and how a conflict's winner was chosen
// with a Settlement. Every sentence people read about them (the hover, the
// code lens, the dashboard, the trace of explain, the prose fields of
// /routes.json, devproxy/routes and check --format json, diagnostics) is
// made from the codes here, by the two functions of Sentences. Nothing
// downstream, Go or TypeScript, reads the words back: code actions, states
// and icons switch on the codes, which every JSON report carries beside the
// words (inactiveCode, reasonCode).

// InactiveReason says why a block takes no requests. Block.Inactive is ""
// while the block is active.
type InactiveReason string

const (
	// InactiveDuplicate: an earlier block of the same file has the same
	// spec and the same kind of match (nginx would refuse to start); the
	// first one in the file takes the requests. Block.Loc.DuplicateOf is
	// that block.
	InactiveDuplicate InactiveReason = "duplicate"
	// InactiveReserved: the block claims a path the proxy serves itself
	// (/devproxy/, /routes.json, ...).
	InactiveReserved InactiveReason = "reserved"
	// InactiveLostConflict: other files claim the block's route and one of
	// them wins it; Block.Conflict says which and how it was chosen.
	InactiveLostConflict InactiveReason = "lost-conflict"
	// InactiveShadowedByEarlier: a block of another file with the same
	// spec and the same kind of match, but no route to settle a conflict
	// over (a regex, a file-like path, a named location), comes first in
	// composed order and takes every request. Block.ShadowedBy is that
	// block.
	InactiveShadowedByEarlier InactiveReason = "shadowed-by-earlier"
)

// InactiveReasons lists every InactiveReason, in the order the schemas
// list them.
var InactiveReasons = []InactiveReason{InactiveDuplicate, InactiveReserved, InactiveLostConflict, InactiveShadowedByEarlier}

// Settlement says how the winner of a conflict was chosen (spec §4), in
// the order the rules apply.
type Settlement string

const (
	// SettledByOverride: an override file claims the route, and an
	// override beats app files.
	SettledByOverride Settlement = "override"
	// SettledByPin: .devproxy/resolutions.json names the winner
	// (Conflict.PinnedIn says which folder's file).
	SettledByPin Settlement = "pinned"
	// SettledByNewest: the most recently modified file wins.
	SettledByNewest Settlement = "newest"
	// SettledBySameAgeFirstByPath: the newest files have the same
	// modification time; the first by path wins.
	SettledBySameAgeFirstByPath Settlement = "same-age-first-by-path"
)

// Settlements lists every Settlement, in the order the schemas list them.
var Settlements = []Settlement{SettledByOverride, SettledByPin, SettledByNewest, SettledBySameAgeFirstByPath}

// Chosen reports whether someone chose the winner (an override, a pin),
// rather than the engine going by file age, which the next save can change.
func (s Settlement) Chosen() bool {
	return s == SettledByOverride || s == SettledByPin
}

// Phrase is the settlement in words, as it appears in parentheses after a
// winner: "apps/b.conf wins (newest)".
func (s Settlement) Phrase() string { return sentences.Load().Settlement(s) }

// Phrase is the conflict's settlement in words, naming the resolutions
// file of the pin that chose the winner, if one did: "pinned in
// shop/.devproxy/resolutions.json".
func (c *Conflict) Phrase() string {
	s := sentences.Load()
	if c.Settlement == SettledByPin && c.PinnedIn != "" && s.Pinned != nil {
		return s.Pinned(c.PinnedIn)
	}
	return s.Settlement(c.Settlement)
}

// InactiveSentence says in words why the block takes no requests; "" for
// an active block.
func (b *Block) InactiveSentence() string {
	if b.Active {
		return ""
	}
	return sentences.Load().Inactive(b)
}

// Sentences makes the words people read from the engine's decision codes:
// one function per code set. The product speaks English; a test can swap
// in other words (UseSentences) to show that nothing downstream reads them.
type Sentences struct {
	// Settlement is a conflict settlement as a short phrase: "newest".
	Settlement func(Settlement) string
	// Inactive says why an inactive block takes no requests; it reads the
	// block's code and the block it names (DuplicateOf, Conflict,
	// ShadowedBy).
	Inactive func(*Block) string
	// Pinned is SettledByPin as a short phrase naming the resolutions file
	// of the pin; when nil, Settlement says it.
	Pinned func(resolutionsFile string) string
	// Stale is the warning on a file that stopped parsing while the proxy
	// serves its last good version, modified at goodSince (the code is
	// routefile.CodeStale); when nil, the English words are used.
	Stale func(goodSince time.Time) string
	// Settle tells how to settle a conflict that file age decided (a
	// settlement that is not Chosen), appended to the conflict's
	// diagnostic; "" for a chosen settlement. When nil, the English words
	// are used.
	Settle func(Settlement) string
}

var english = Sentences{Settlement: englishSettlement, Inactive: englishInactive, Pinned: englishPinned, Stale: englishStale, Settle: englishSettle}

// Advice says how to settle a conflict decided by file age, which the
// next save can flip: "pin it (quick fix, or .devproxy/resolutions.json)
// or move it to overrides/"; "" when someone chose the winner.
func (s Settlement) Advice() string {
	if s.Chosen() {
		return ""
	}
	if f := sentences.Load().Settle; f != nil {
		return f(s)
	}
	return englishSettle(s)
}

func englishSettle(s Settlement) string {
	if s.Chosen() {
		return ""
	}
	return "pin it (quick fix, or " + ResolutionsFile + ") or move it to overrides/"
}

func (s *Sentences) stale(goodSince time.Time) string {
	if s.Stale == nil {
		return englishStale(goodSince)
	}
	return s.Stale(goodSince)
}

// sentences is read by every report, from any goroutine.
var sentences atomic.Pointer[Sentences]

func init() { sentences.Store(&english) }

// UseSentences makes s the words of every report and diagnostic made from
// now on, and returns a function that restores the previous ones. For
// tests: the product never calls it.
func UseSentences(s Sentences) (restore func()) {
	prev := sentences.Swap(&s)
	return func() { sentences.Store(prev) }
}

func englishSettlement(s Settlement) string {
	switch s {
	case SettledByOverride:
		return "override"
	case SettledByPin:
		return "pinned in " + ResolutionsFile
	case SettledByNewest:
		return "newest"
	case SettledBySameAgeFirstByPath:
		return "same age, first by path"
	}
	return string(s)
}

func englishPinned(resolutionsFile string) string { return "pinned in " + resolutionsFile }

// englishStale says when the good version was saved, as the clock on the
// wall showed it.
func englishStale(goodSince time.Time) string {
	return fmt.Sprintf("serving the last good version from %s until the errors are fixed", goodSince.Local().Format("15:04:05"))
}

func englishInactive(b *Block) string {
	switch b.Inactive {
	case InactiveDuplicate:
		if d := b.Loc.DuplicateOf; d != nil {
			return fmt.Sprintf("duplicate of the block on line %d", d.Line())
		}
	case InactiveReserved:
		return "reserved path"
	case InactiveLostConflict:
		if c := b.Conflict; c != nil {
			return fmt.Sprintf("%s wins %s (%s)", c.Winner.Path, c.Route, c.Phrase())
		}
	case InactiveShadowedByEarlier:
		if e := b.ShadowedBy; e != nil {
			return fmt.Sprintf("%s comes first in composed order", e.Label())
		}
	}
	return string(b.Inactive)
}
