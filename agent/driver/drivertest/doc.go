// Package drivertest is the conformance suite of the driver.Driver contract. Every
// implementation runs it: the fake driver in unit tests, Docker (directly and through the plugin
// boundary) and Nomad in integration tests, so that what the node and the pool rely on is checked
// once, in one place, against all of them.
//
//	func TestConformance(t *testing.T) {
//		drivertest.Run(t, func(t *testing.T) driver.Driver {
//			d := fake.New(fake.WithImages("img:1"))
//			t.Cleanup(func() { _ = d.Close() })
//			return d
//		}, drivertest.Options{Image: "img:1"})
//	}
//
// Run starts real instances from Options.Image (which must obey the function contract and log
// each request's path; internal/testimage builds such an image for Docker), talks HTTP to their
// endpoints and cleans up everything it starts. Capabilities the driver reports as missing are
// checked for driver.ErrNotSupported instead; without Images (an engine that fetches images
// itself, like Nomad's clients), Fingerprint need list no image and EnsureImage may accept a
// missing one, which Start must then refuse with driver.ErrImageNotFound.
//
// Where to read next: agent/driver (the contract), agent/driver/fake (the reference fake).
package drivertest
