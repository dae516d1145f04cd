module github.com/devtunnelproxy/devproxy

go 1.26
