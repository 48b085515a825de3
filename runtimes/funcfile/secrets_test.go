package funcfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

func TestParseSecrets(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{base, ""},
		{base + "secrets: files\n", api.SecretsFiles},
		{base + "secrets: env\n", api.SecretsEnv},
	} {
		spec, err := Parse([]byte(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if spec.SecretsAs != tc.want {
			t.Errorf("%q: SecretsAs = %q, want %q", tc.yaml, spec.SecretsAs, tc.want)
		}
	}
	for _, bad := range []string{"secrets: environment\n", "secrets: [A, B]\n", "secrets:\n  A: b\n", "secrets: \"\"\n"} {
		_, err := Parse([]byte(base + bad))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "secrets" || !strings.Contains(fe.Reason, `"files"`) {
			t.Errorf("%q: want a FieldError on secrets naming the choices, got %v", bad, err)
		}
	}
	_, err := Parse([]byte(base + "secret: env\n"))
	if err == nil || !strings.Contains(err.Error(), `did you mean "secrets"`) {
		t.Errorf("misspelt key: want did you mean, got %v", err)
	}
}
