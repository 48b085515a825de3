// Package fake is an in-memory driver.Driver that obeys the whole contract, for unit tests of
// the node, the pool and the router without Docker.
//
// Each started instance is a real HTTP server on a loopback port, so callers go through their
// real HTTP path: by default it answers GET /_/ready and echoes other requests (DefaultHandler),
// and WithHandler swaps in any http.Handler. Pause holds requests until Resume, as a frozen
// container would; Stop shuts the server down. What the driver can do (WithCapabilities: Pause
// off behaves like Nomad), which images exist (WithImages, WithPull) and how operations fail
// (a Hook, Exit for an instance that dies on its own) are scriptable, Counts reports what
// happened, and Held how many requests a paused instance holds. It passes agent/driver/drivertest like the real drivers.
//
//	d := fake.New(fake.WithImages("hello:3f2a"), fake.WithCapabilities(driver.Capabilities{Logs: true}))
//	t.Cleanup(func() { _ = d.Close() })
//	d.SetHook(func(ctx context.Context, op fake.Op, id string) error {
//		if op == fake.OpStart {
//			return fmt.Errorf("engine down: %w", driver.ErrUnavailable)
//		}
//		return nil
//	})
//
// Where to read next: agent/driver (the contract), agent/driver/drivertest (the suite it passes).
package fake
