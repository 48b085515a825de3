//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// The Nomad dev agent and the registry that scripts/nomad.sh and scripts/registry.sh start
// (make test runs them).
const (
	nomadAddr    = "http://127.0.0.1:4646"
	registryAddr = "127.0.0.1:5000"
)

// nomadGet decodes the answer of a GET on the Nomad API into v; a 404 leaves v alone and
// returns false.
func nomadGet(t *testing.T, path string, v any) bool {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(nomadAddr + path)
	if err != nil {
		t.Fatalf("the Nomad dev agent does not answer (run scripts/nomad.sh): %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return false
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return true
}

// nomadJobsOf lists the ids of the live Nomad jobs hearth made for node.
func nomadJobsOf(t *testing.T, node string) []string {
	t.Helper()
	var stubs []struct {
		ID     string
		Status string
	}
	nomadGet(t, "/v1/jobs?prefix=hearth-", &stubs)
	var ids []string
	for _, j := range stubs {
		var job struct{ Meta map[string]string }
		if j.Status != "dead" && nomadGet(t, "/v1/job/"+url.PathEscape(j.ID), &job) && job.Meta["hearth.node"] == node {
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// purgeNomadJob deregisters and purges a job a failed test left behind.
func purgeNomadJob(t *testing.T, id string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, nomadAddr+"/v1/job/"+url.PathEscape(id)+"?purge=true", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}
