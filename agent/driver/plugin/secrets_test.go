package plugin

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	driverpb "github.com/hearthfn/hearth/agent/driver/plugin/proto"
	"github.com/hearthfn/hearth/agent/instance"
)

// TestSecretsCrossThePlugin checks that a spec's secrets reach the plugin byte for byte, through
// the wire encoding, binary values included.
func TestSecretsCrossThePlugin(t *testing.T) {
	spec := instance.Spec{ID: "i1", Secrets: instance.SecretValues{"A": []byte("one"), "B": {0, 0xff, '\n'}},
		SecretsAs: instance.SecretsEnv}
	b, err := proto.Marshal(specToPB(spec))
	if err != nil {
		t.Fatal(err)
	}
	var pb driverpb.Spec
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	got := specFromPB(&pb)
	if !reflect.DeepEqual(got.Secrets, spec.Secrets) || got.SecretsAs != instance.SecretsEnv {
		t.Fatalf("got %v as %q", got.Secrets, got.SecretsAs)
	}
	if none := specFromPB(specToPB(instance.Spec{ID: "i2"})); none.Secrets != nil || none.SecretsAs != "" {
		t.Fatalf("a spec without secrets got %v as %q", none.Secrets, none.SecretsAs)
	}
}
