package docker

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"testing"

	"github.com/hearthfn/hearth/agent/instance"
)

// TestSandboxProgram: the sandbox image's one file is a static x86-64 executable whose entry
// point is its code: pause(2) in a loop.
func TestSandboxProgram(t *testing.T) {
	tr := tar.NewReader(bytes.NewReader(sandboxTar()))
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != "pause" || hdr.Mode&0o111 == 0 {
		t.Fatalf("layer holds %s mode %o, want an executable /pause", hdr.Name, hdr.Mode)
	}
	data, _ := io.ReadAll(tr)
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC || len(f.Progs) != 1 {
		t.Fatalf("machine %v type %v, %d program headers", f.Machine, f.Type, len(f.Progs))
	}
	p := f.Progs[0]
	if p.Type != elf.PT_LOAD || p.Flags != elf.PF_R|elf.PF_X || f.Entry < p.Vaddr || f.Entry >= p.Vaddr+p.Memsz ||
		p.Filesz != uint64(len(data)) {
		t.Fatalf("segment %+v, entry %#x, file %d bytes", p.ProgHeader, f.Entry, len(data))
	}
	code := data[f.Entry-p.Vaddr:]
	want := []byte{0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7} // mov eax, SYS_pause; syscall; jmp back
	if !bytes.Equal(code, want) {
		t.Errorf("code % x, want % x", code, want)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("more than one file in the layer: %v", err)
	}
}

// TestConfigHash: the same spec hashes the same (env and labels are maps), and any option that
// changes the container changes the hash.
func TestConfigHash(t *testing.T) {
	d := newStubbed(Config{}, &stubAPI{})
	spec := instance.Spec{ID: "i1", Image: "img", Port: 8080, Env: map[string]string{"A": "1", "B": "2", "C": "3"},
		Labels: map[string]string{"x": "1", "y": "2"}, Resources: instance.Resources{MemoryMB: 128}}
	netw := netInfo{name: "hearth", mode: "hearth"}
	hash := func(s instance.Spec) string { return configHash(d.containerConfig(s, netw, "65534:65534")) }
	first := hash(spec)
	for range 20 {
		if h := hash(spec); h != first {
			t.Fatalf("the same spec hashed %s then %s", first, h)
		}
	}
	changed := []func(*instance.Spec){
		func(s *instance.Spec) { s.Env = map[string]string{"A": "1", "B": "2", "C": "4"} },
		func(s *instance.Spec) { s.Image = "img2" },
		func(s *instance.Spec) { s.Resources.MemoryMB = 256 },
		func(s *instance.Spec) { s.Security.WritableRoot = true },
		func(s *instance.Spec) {
			s.Secrets = map[string][]byte{"k": []byte("v")}
			s.SecretsAs = instance.SecretsEnv
		},
	}
	for i, change := range changed {
		s := spec
		change(&s)
		if hash(s) == first {
			t.Errorf("change %d left the hash as it was", i)
		}
	}
}
