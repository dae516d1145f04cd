package routing

import (
	"cmp"
	"slices"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// The static location tree is built exactly like nginx builds it
// (ngx_http_init_static_location_trees): sort exact and prefix locations by
// name, join an exact and a prefix location of the same name into one node,
// nest every location under the prefix location whose name it extends, and
// turn each level into a balanced binary tree by taking the middle element.
// Walking the same tree with the same loop gives nginx's answers, quirks
// included (for example the missing-slash redirect is found only when the
// walk passes the node that would issue it). The walk costs one comparison
// per tree level and allocates nothing.

type treeNode struct {
	left, right, tree *treeNode
	exact, inclusive  *Block
	name              string // the part of the location name after the parent's
	autoRedirect      bool
}

type treeItem struct {
	name             string
	exact, inclusive *Block
	list             []*treeItem
}

// buildTree builds the static tree of the active exact and prefix blocks.
// blocks must be in composed order; when two blocks share a name and kind,
// the first one is kept (composition has already reported the other).
func buildTree(blocks []*Block) *treeNode {
	items := make([]*treeItem, 0, len(blocks))
	for _, b := range blocks {
		switch b.Loc.Modifier {
		case routefile.ModExact:
			items = append(items, &treeItem{name: b.Loc.Spec, exact: b})
		case routefile.ModPrefix, routefile.ModNoRegex:
			items = append(items, &treeItem{name: b.Loc.Spec, inclusive: b})
		}
	}
	slices.SortStableFunc(items, func(a, b *treeItem) int {
		if c := filenameCmp(a.name, b.name, min(len(a.name), len(b.name))+1); c != 0 {
			return c
		}
		// exact before the same inclusive
		return cmp.Compare(boolRank(a.exact == nil), boolRank(b.exact == nil))
	})
	// Join exact and inclusive locations of one name.
	joined := items[:0]
	for _, it := range items {
		if n := len(joined); n > 0 && joined[n-1].name == it.name {
			last := joined[n-1]
			if it.inclusive != nil && last.inclusive == nil {
				last.inclusive = it.inclusive
			}
			continue // a second location of the same kind: the first wins
		}
		joined = append(joined, it)
	}
	return createTree(createList(joined), 0)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// createList nests each location under the prefix location whose name is a
// prefix of its own (ngx_http_create_locations_list).
func createList(items []*treeItem) []*treeItem {
	var out []*treeItem
	for i := 0; i < len(items); {
		q := items[i]
		out = append(out, q)
		i++
		if q.inclusive == nil {
			continue
		}
		j := i
		for j < len(items) && strings.HasPrefix(items[j].name, q.name) {
			j++
		}
		if j > i {
			q.list = createList(items[i:j])
		}
		i = j
	}
	return out
}

// createTree builds a balanced tree from a sorted level
// (ngx_http_create_locations_tree); prefix is the length of the name part
// already consumed by ancestors.
func createTree(items []*treeItem, prefix int) *treeNode {
	if len(items) == 0 {
		return nil
	}
	mid := len(items) / 2
	q := items[mid]
	n := &treeNode{
		exact:        q.exact,
		inclusive:    q.inclusive,
		name:         q.name[prefix:],
		autoRedirect: autoRedirects(q.exact) || autoRedirects(q.inclusive),
	}
	n.left = createTree(items[:mid], prefix)
	n.right = createTree(items[mid+1:], prefix)
	n.tree = createTree(q.list, len(q.name))
	return n
}

// autoRedirects reports whether nginx would answer a request for the name
// without its trailing slash with a 301: proxy_pass in a location whose name
// ends in '/' (exact locations included, as in nginx).
func autoRedirects(b *Block) bool {
	return b != nil && b.Loc.ProxyPass != nil && strings.HasSuffix(b.Loc.Spec, "/")
}

// filenameCmp compares the first n bytes of a and b like nginx's
// ngx_filename_cmp: bytewise, except that '/' sorts below every other
// byte, and a string ends with an implicit NUL that sorts below '/'. The
// tree's shape, and so which nodes a walk visits, depends on this order.
func filenameCmp(a, b string, n int) int {
	for i := 0; i < n; i++ {
		var c1, c2 int
		if i < len(a) {
			c1 = int(a[i])
		}
		if i < len(b) {
			c2 = int(b[i])
		}
		if c1 == c2 {
			if c1 == 0 {
				return 0
			}
			continue
		}
		if c1 == 0 || c2 == 0 {
			return c1 - c2
		}
		if c1 == '/' {
			c1 = 0
		}
		if c2 == '/' {
			c2 = 0
		}
		return c1 - c2
	}
	return 0
}

type staticResult int

const (
	staticNone      staticResult = iota // no match
	staticExact                         // an = location
	staticInclusive                     // the longest prefix
	staticRedirect                      // the missing-slash 301
)

// findStatic walks the tree like ngx_http_core_find_static_location.
func findStatic(node *treeNode, uri string) (*Block, staticResult) {
	var found *Block
	rv := staticNone
	for node != nil {
		n := min(len(uri), len(node.name))
		if c := filenameCmp(uri, node.name, n); c != 0 {
			if c < 0 {
				node = node.left
			} else {
				node = node.right
			}
			continue
		}
		if len(uri) > len(node.name) {
			if node.inclusive != nil {
				found, rv = node.inclusive, staticInclusive
				uri = uri[n:]
				node = node.tree
				continue
			}
			node = node.right // exact only
			continue
		}
		if len(uri) == len(node.name) {
			if node.exact != nil {
				return node.exact, staticExact
			}
			return node.inclusive, staticInclusive
		}
		// len(uri) < len(node.name)
		if len(uri)+1 == len(node.name) && node.autoRedirect {
			found = node.inclusive
			if node.exact != nil {
				found = node.exact
			}
			rv = staticRedirect
		}
		node = node.left
	}
	return found, rv
}

// prefixesOf lists every prefix location whose name is a prefix of p,
// shortest first. The shadowing finding uses it.
func prefixesOf(node *treeNode, p string) []*Block {
	var out []*Block
	for node != nil {
		n := min(len(p), len(node.name))
		if c := filenameCmp(p, node.name, n); c != 0 {
			if c < 0 {
				node = node.left
			} else {
				node = node.right
			}
			continue
		}
		if len(p) >= len(node.name) {
			if node.inclusive != nil {
				out = append(out, node.inclusive)
				if len(p) == len(node.name) {
					return out
				}
				p = p[n:]
				node = node.tree
				continue
			}
			if len(p) == len(node.name) {
				return out
			}
			node = node.right
			continue
		}
		node = node.left
	}
	return out
}

// regexIndex finds the first regex location, in composed order, that
// matches a path, without trying regexes that cannot match it. An anchored
// regex whose literal prefix includes a whole first segment ("/app7/" in
// ^/app7/_next/(.+)$) can only match paths whose first segment is "/app7"
// (ignoring ASCII case for ~*); such regexes are filed under that segment.
// The rest (unanchored, short prefixes) are tried for every path. The
// candidate lists are merged by composed order, so the answer is the same
// as trying every regex in order.
type regexIndex struct {
	all    []*Block
	bySeg  map[string][]*Block // case-sensitive prefixes
	byFold map[string][]*Block // ~* prefixes, keyed in lower case
	other  []*Block
}

// maxFoldSegment bounds the first segments looked up case-insensitively
// (they are lowered into a stack buffer).
const maxFoldSegment = 128

func newRegexIndex(regexes []*Block) regexIndex {
	ix := regexIndex{all: regexes, bySeg: map[string][]*Block{}, byFold: map[string][]*Block{}}
	for _, b := range regexes {
		re := b.Loc.Regex
		if re.Anchored && strings.HasPrefix(re.Prefix, "/") {
			if i := strings.IndexByte(re.Prefix[1:], '/'); i >= 0 {
				seg := re.Prefix[:i+1]
				switch {
				case !re.PrefixFold:
					ix.bySeg[seg] = append(ix.bySeg[seg], b)
					continue
				case len(seg) <= maxFoldSegment:
					seg = strings.ToLower(seg)
					ix.byFold[seg] = append(ix.byFold[seg], b)
					continue
				}
			}
		}
		ix.other = append(ix.other, b)
	}
	return ix
}

// firstSegment is "/app7" for "/app7/x" and for "/app7".
func firstSegment(uri string) string {
	if len(uri) > 1 {
		if i := strings.IndexByte(uri[1:], '/'); i >= 0 {
			return uri[:i+1]
		}
	}
	return uri
}

func (ix *regexIndex) first(uri string) *Block {
	seg := firstSegment(uri)
	lists := [3][]*Block{ix.bySeg[seg], nil, ix.other}
	if len(ix.byFold) > 0 && len(seg) <= maxFoldSegment {
		var buf [maxFoldSegment]byte
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		lists[1] = ix.byFold[string(buf[:len(seg)])]
	}
	for {
		pick := -1
		for i, l := range lists {
			if len(l) > 0 && (pick < 0 || l[0].Order < lists[pick][0].Order) {
				pick = i
			}
		}
		if pick < 0 {
			return nil
		}
		b := lists[pick][0]
		lists[pick] = lists[pick][1:]
		if b.Loc.Regex.MatchString(uri) {
			return b
		}
	}
}
