package lsp

import "github.com/devtunnelproxy/devproxy/proxy/routing"

// EnvironmentsResult answers devproxy/environments
// (schemas/lsp-environments.schema.json): the profiles of the primary
// folder's devproxy.json and the one devproxy.environment chooses.
type EnvironmentsResult struct {
	// Active is the devproxy.environment setting, "" for none; Known says
	// whether devproxy.json defines it (an unknown one applies nothing
	// and is a diagnostic on devproxy.json).
	Active string   `json:"active"`
	Known  bool     `json:"known"`
	Names  []string `json:"names"`
}

func environments(c routing.Config) EnvironmentsResult {
	names := c.EnvironmentNames()
	if names == nil {
		names = []string{}
	}
	_, known := c.Environments[c.Environment]
	return EnvironmentsResult{Active: c.Environment, Known: c.Environment == "" || known, Names: names}
}
