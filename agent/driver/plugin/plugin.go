package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/hearthfn/hearth/agent/driver"
	driverpb "github.com/hearthfn/hearth/agent/driver/plugin/proto"
)

// Handshake is the one handshake every hearth driver plugin and host share.
//
// ProtocolVersion history (bump it on any incompatible change to proto/driver.proto, so that a
// host and a plugin of different builds refuse each other at start instead of failing per call):
//
//	1: the nine-method Driver service of hearth.driver.v1, gRPC only.
//	2: Spec.security. A plugin of version 1 would drop it and start instances unconfined, so
//	   the two must not be paired.
//
// The magic cookie is not a security measure: it only lets Serve refuse to run when someone
// starts `hearth __driver ...` by hand, with a message instead of a hang.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  2,
	MagicCookieKey:   "HEARTH_DRIVER_PLUGIN",
	MagicCookieValue: "c6a1b3f0-hearth-driver",
}

// GRPCPlugin adapts driver.Driver to go-plugin: on the plugin side it registers Impl as the
// Driver gRPC service; on the host side it returns a driver.Driver over the gRPC connection.
// It is exported for tests that connect a host and a plugin in memory with
// goplugin.TestPluginGRPCConn; Serve and Loader use it internally.
type GRPCPlugin struct {
	// NetRPCUnsupportedPlugin makes the plugin gRPC only.
	goplugin.NetRPCUnsupportedPlugin
	// Impl is the driver served; it is nil on the host side.
	Impl driver.Driver
}

var _ goplugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers p.Impl on s; go-plugin calls it in the plugin process.
func (p *GRPCPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	driverpb.RegisterDriverServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns a driver.Driver that calls the plugin over conn; go-plugin calls it in the
// host process when a driver is dispensed.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &client{rpc: driverpb.NewDriverClient(conn)}, nil
}

// PluginSet returns the go-plugin set that serves (impl != nil) or dispenses (impl == nil) the
// driver called name. The name is the dispense key: host and plugin must agree on it.
func PluginSet(name string, impl driver.Driver) goplugin.PluginSet {
	return goplugin.PluginSet{name: &GRPCPlugin{Impl: impl}}
}
