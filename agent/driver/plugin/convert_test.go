package plugin

import (
	"reflect"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// TestSpecRoundTrip checks that a spec with every field set crosses the wire unchanged, and
// that the check itself sees every field (a field added to Spec or Security but not to the
// conversion fails here).
func TestSpecRoundTrip(t *testing.T) {
	spec := instance.Spec{
		ID: "i1", Function: "hello", Version: 3, Image: "hello:abc",
		Env: map[string]string{"A": "1"}, Port: 9000,
		Resources: instance.Resources{MemoryMB: 256, CPUMilli: 500},
		Labels:    map[string]string{"k": "v"},
		Security: instance.Security{User: "1000:1000", WritableRoot: true, TmpSizeMB: 32, PidsLimit: 99,
			NoFile: 2048, CapAdd: []string{"KILL"}, Network: instance.NetworkNone},
		Secrets:   instance.SecretValues{"TOKEN": []byte("s")},
		SecretsAs: instance.SecretsEnv,
	}
	assertNoZeroField(t, reflect.ValueOf(spec), "Spec")
	if got := specFromPB(specToPB(spec)); !reflect.DeepEqual(got, spec) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, spec)
	}
	// A spec from a host that sent no security at all is the hardened default.
	pb := specToPB(instance.Spec{ID: "i2"})
	pb.Security = nil
	if got := specFromPB(pb).Security; !reflect.DeepEqual(got, instance.Security{}) {
		t.Errorf("absent security = %+v, want the zero value", got)
	}
}

// TestFingerprintRoundTrip checks the same for a fingerprint, capabilities included.
func TestFingerprintRoundTrip(t *testing.T) {
	fp := driver.Fingerprint{
		Name: "nomad", Version: "1.11.3", Capabilities: driver.Capabilities{Pause: true, Logs: true, Images: true},
		Allocatable: instance.Resources{MemoryMB: 1024, CPUMilli: 2000}, Images: []string{"hello:abc"},
	}
	assertNoZeroField(t, reflect.ValueOf(fp), "Fingerprint")
	if got := fingerprintFromPB(fingerprintToPB(fp)); !reflect.DeepEqual(got, fp) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, fp)
	}
}

func assertNoZeroField(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if v.Kind() == reflect.Struct && v.Type() != reflect.TypeOf(time.Time{}) {
		for i := range v.NumField() {
			assertNoZeroField(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
		return
	}
	if v.IsZero() {
		t.Fatalf("%s is zero in the test's spec: set it, so that its conversion is checked", path)
	}
}

// TestEventRoundTrip checks the same for an instance event.
func TestEventRoundTrip(t *testing.T) {
	ev := instance.Event{
		Resync: true, InstanceID: "i1", Function: "hello", State: instance.StateExited, Gone: true,
		ExitCode: 137, OOMKilled: true, Reason: "die", Time: time.Unix(1_700_000_000, 123_456_789).UTC(),
	}
	assertNoZeroField(t, reflect.ValueOf(ev), "Event")
	if got := eventFromPB(eventToPB(ev)); !reflect.DeepEqual(got, ev) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, ev)
	}
	if got := eventFromPB(eventToPB(instance.Event{Resync: true})); !got.Time.IsZero() {
		t.Errorf("a resync's time = %v, want zero", got.Time)
	}
}
