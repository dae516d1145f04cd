// Package docs holds the product's own documentation: the reference pages
// beside this file and the task guides under guides/. They are embedded in
// the binary so the assistant (server/calliope/knowledge) can search them
// offline. Pictures under images/ are not embedded.
package docs

import "embed"

// FS holds docs/*.md and docs/guides/*.md, with paths relative to docs/
// ("vite.md" is "guides/vite.md").
//
//go:embed *.md guides/*.md
var FS embed.FS
