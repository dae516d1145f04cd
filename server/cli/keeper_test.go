package cli

import (
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/join"
)

// TestWindowBack: the keeper's window is back when a VS Code client other
// than the language server that left registered one of its folders, as
// owner or member; a devproxy serve with the folder is not a window.
func TestWindowBack(t *testing.T) {
	roots := []string{"/src/web"}
	const gone = 100
	vscode := func(pid int, _ string) join.Client { return join.Client{PID: pid, Kind: join.KindVSCode, Name: "w"} }
	web := []join.FolderReg{{Root: "/src/web"}}
	shop := []join.FolderReg{{Root: "/src/shop"}}
	keeper := join.OwnerInfo{Client: join.Client{PID: 5, Kind: join.KindServe, Name: join.KeeperName}, Folders: web}
	for _, c := range []struct {
		name string
		m    join.Members
		want bool
	}{
		{"only the keeper", join.Members{Owner: keeper}, false},
		{"the window that left, joining", join.Members{Owner: keeper, Members: []join.MemberInfo{{Client: vscode(gone, ""), Folders: web}}}, false},
		{"the window back as a member", join.Members{Owner: keeper, Members: []join.MemberInfo{{Client: vscode(101, ""), Folders: web}}}, true},
		{"the window back as the owner", join.Members{Owner: join.OwnerInfo{Client: vscode(101, ""), Folders: web}}, true},
		{"another window", join.Members{Owner: join.OwnerInfo{Client: vscode(102, ""), Folders: shop}}, false},
		{"devproxy serve on the folder", join.Members{Owner: keeper, Members: []join.MemberInfo{{Client: join.Client{PID: 103, Kind: join.KindServe}, Folders: web}}}, false},
	} {
		if got := windowBack(c.m, roots, gone); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
