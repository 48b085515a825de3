package httpapi_test

import (
	"context"
	"fmt"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
)

// fakeTokens accepts the tokens it was given, each as the token record it maps to.
type fakeTokens map[string]api.Token

func (f fakeTokens) Authenticate(_ context.Context, token string) (api.Token, error) {
	t, ok := f[token]
	if !ok {
		return api.Token{}, fmt.Errorf("%w: token is unknown or revoked", auth.ErrUnauthenticated)
	}
	return t, nil
}

// The tokens the handler tests use.
const (
	adminToken       = "hth_admin"
	helloDeployer    = "hth_deployer_hello"
	helloInvoker     = "hth_invoker_hello"
	viewerToken      = "hth_viewer"
	otherInvoker     = "hth_invoker_other"
	scopedViewer     = "hth_viewer_hello"
	unknownTokenText = "hth_0123456789abcdef_unknown"
)

var testTokens = fakeTokens{
	adminToken:    {ID: "admin1", Role: api.RoleAdmin},
	helloDeployer: {ID: "dep1", Role: api.RoleDeployer, Functions: []string{"hello"}},
	helloInvoker:  {ID: "inv1", Role: api.RoleInvoker, Functions: []string{"hello"}},
	viewerToken:   {ID: "view1", Role: api.RoleViewer},
	otherInvoker:  {ID: "inv2", Role: api.RoleInvoker, Functions: []string{"other"}},
	scopedViewer:  {ID: "view2", Role: api.RoleViewer, Functions: []string{"hello"}},
}

// authRequestError is what the token service returns for a bad role.
var authRequestError = auth.RequestError{Field: "role", Reason: `"root" is not a role`}

// allPublic says every function is public and exists.
type allPublic struct{}

func (allPublic) Public(string) (bool, bool) { return true, true }

// publicSet says which functions exist and which of them are public.
type publicSet map[string]bool

func (p publicSet) Public(name string) (public, ok bool) {
	public, ok = p[name]
	return public, ok
}
