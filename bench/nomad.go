package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hearthfn/hearth/agent/driver/nomad"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/runtimes"
)

// The Nomad section: a second hearth server, `hearth server --driver nomad`, on the Nomad agent
// and the loopback registry that scripts/nomad.sh and scripts/registry.sh start, with the go
// no-op scaffold, beside Nomad's own floors: a warm call straight to the allocation's port, and
// the same job registered through the Nomad API (nomadcold.go).

// checkNomad fails at once when the Nomad agent or the registry does not answer: the Nomad rows
// are on by default, as the Docker rows need Docker, and finding out after the Docker rows
// would waste minutes.
func checkNomad(cfg config) error {
	hc := &http.Client{Timeout: 3 * time.Second}
	if err := call(hc, cfg.nomadAddr+"/v1/agent/self"); err != nil {
		return fmt.Errorf("the Nomad agent at %s does not answer (start it with scripts/nomad.sh, or leave the Nomad rows out with -nomad=false): %w",
			cfg.nomadAddr, err)
	}
	if err := call(hc, "http://"+cfg.registry+"/v2/"); err != nil {
		return fmt.Errorf("the registry at %s does not answer (start it with scripts/registry.sh, or leave the Nomad rows out with -nomad=false): %w",
			cfg.registry, err)
	}
	return nil
}

// nomadResult is what the Nomad section measured.
type nomadResult struct {
	rows    []row
	phases  *nomadPhaseReport
	version string
}

// nomadRows runs the Nomad section. Before it returns, also on failure, it stops its server (and
// with it every job the server made), stops any job of the bench's still on Nomad, and deletes
// the tags it pushed to the registry.
func nomadRows(ctx context.Context, cfg config) (nomadResult, error) {
	var res nomadResult
	// The bench's own driver starts the floors' jobs and watches Nomad's jobs, to see when
	// hearth's instance is really gone. Its configuration is what the server's driver gets
	// from the same flags, so that the floor's job is the one hearth would register.
	nd, err := nomad.New(nomad.Config{Address: cfg.nomadAddr, Registry: cfg.registry})
	if err != nil {
		return res, err
	}
	defer nd.Close()
	// Fingerprint also measures the cluster's MHz per core, which the driver's first Start
	// would otherwise do: the first floor sample must not pay for it.
	fp, err := nd.Fingerprint(ctx)
	if err != nil {
		return res, fmt.Errorf("nomad: %w (is scripts/nomad.sh's agent up?)", err)
	}
	res.version = fp.Version
	napi := nomadHTTP{addr: cfg.nomadAddr, hc: &http.Client{}}

	logf("nomad: starting hearth server --driver nomad (Nomad %s, registry %s)", fp.Version, cfg.registry)
	srv, err := startServer(ctx, cfg.bin, "--driver", "nomad", "--nomad-addr", cfg.nomadAddr, "--registry", cfg.registry)
	if err != nil {
		return res, err
	}
	b := &bench{cfg: cfg, srv: srv, engine: nd, driver: "nomad", names: "nomad-", catalog: runtimes.New(), work: srv.dataDir}
	defer func() {
		// In this order: the server stops its instances, whose jobs it purges; then whatever
		// is left (a server that had to be killed, a floor's job whose stop failed); the
		// registry's tags last, once nothing can pull them.
		srv.stop()
		b.stopLeftovers(nd)
		deleteTags(b.pushed)
	}()
	token, err := srv.adminToken()
	if err != nil {
		return res, err
	}
	if b.client, err = client.New(srv.url, client.WithToken(token)); err != nil {
		return res, err
	}
	b.hc = &http.Client{Transport: withToken(http.DefaultTransport, token)}

	if res.rows, err = b.warmRows(ctx, "go"); err != nil {
		return res, fmt.Errorf("nomad: %w", err)
	}
	cold, phases, err := b.nomadColdRow(ctx, nd, napi, "go")
	if err != nil {
		return res, fmt.Errorf("nomad: %w", err)
	}
	res.rows, res.phases = append(res.rows, cold), phases
	for i := range res.rows {
		res.rows[i].Driver = b.driver
		res.rows[i].Goals = evaluate(res.rows[i])
	}
	return res, nil
}

// stopLeftovers stops every job of the bench's still on Nomad: its function names and its
// floors' all start with namePrefix. After a clean run there are none.
func (b *bench) stopLeftovers(nd *nomad.Driver) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all, err := nd.List(ctx)
	if err != nil {
		logf("nomad: cannot list the jobs left behind: %v", err)
		return
	}
	for _, st := range all {
		if !strings.HasPrefix(st.Function, namePrefix) {
			continue
		}
		logf("nomad: stopping job of instance %s (%s), left behind", st.Instance.ID, st.Function)
		if err := nd.Stop(ctx, st.Instance.ID, time.Second); err != nil {
			logf("nomad: %v", err)
		}
	}
}

// manifestTypes are the manifests a push may have made; the registry answers a HEAD with the
// digest of the one it has only when asked for its type.
var manifestTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// deleteTags deletes the images the bench pushed from the registry, by their manifests' digests
// (the registry deletes nothing by tag). Best effort: a failure is reported, not fatal. The
// blobs stay until the registry's garbage collection, which is its operator's to run.
func deleteTags(refs []string) {
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, ref := range refs {
		if err := deleteTag(hc, ref); err != nil {
			logf("registry: %v", err)
		}
	}
}

func deleteTag(hc *http.Client, ref string) error {
	host, rest, _ := strings.Cut(ref, "/")
	i := strings.LastIndex(rest, ":")
	if i < 0 || strings.Contains(rest[i:], "/") {
		return fmt.Errorf("image %s has no tag", ref)
	}
	base := "http://" + host + "/v2/" + rest[:i] + "/manifests/"
	req, _ := http.NewRequest(http.MethodHead, base+rest[i+1:], nil)
	req.Header.Set("Accept", strings.Join(manifestTypes, ", "))
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("delete %s: %w", ref, err)
	}
	resp.Body.Close()
	digest := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || digest == "" {
		return fmt.Errorf("delete %s: HEAD of its manifest: %s", ref, resp.Status)
	}
	req, _ = http.NewRequest(http.MethodDelete, base+digest, nil)
	if resp, err = hc.Do(req); err != nil {
		return fmt.Errorf("delete %s: %w", ref, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("delete %s: %s", ref, resp.Status)
	}
	return nil
}
