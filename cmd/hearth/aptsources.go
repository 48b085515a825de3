package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// hostDebianMirror returns the Debian mirror this machine's apt uses for suite (its first
// "deb" source for that suite with the main component), or "" when it has none. It reads both
// the one-line format (sources.list, *.list) and deb822 (*.sources). The base image is then
// made from the mirror the operator already configured, which on an air-gapped site is the
// only one reachable.
func hostDebianMirror(aptDir, suite string) string {
	files := []string{filepath.Join(aptDir, "sources.list")}
	for _, pattern := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", pattern))
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var uri string
		if strings.HasSuffix(f, ".sources") {
			uri = deb822Mirror(string(data), suite)
		} else {
			uri = oneLineMirror(string(data), suite)
		}
		if uri != "" {
			return uri
		}
	}
	return ""
}

// oneLineMirror reads "deb [options] URI SUITE COMPONENT..." lines.
func oneLineMirror(data, suite string) string {
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) > 1 && strings.HasPrefix(fields[1], "[") {
			// Options: "[arch=amd64 signed-by=...]" may span several fields.
			end := slices.IndexFunc(fields[1:], func(s string) bool { return strings.HasSuffix(s, "]") })
			if end < 0 {
				continue
			}
			fields = append(fields[:1], fields[end+2:]...)
		}
		if len(fields) >= 4 && fields[0] == "deb" && fields[2] == suite && slices.Contains(fields[3:], "main") {
			return fields[1]
		}
	}
	return ""
}

// deb822Mirror reads stanzas of "Types:", "URIs:", "Suites:", "Components:" fields.
func deb822Mirror(data, suite string) string {
	for _, stanza := range strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n\n") {
		fields := map[string][]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if ok && !strings.HasPrefix(k, " ") {
				fields[strings.ToLower(k)] = strings.Fields(v)
			}
		}
		if strings.EqualFold(strings.Join(fields["enabled"], ""), "no") {
			continue
		}
		if slices.Contains(fields["types"], "deb") && slices.Contains(fields["suites"], suite) &&
			slices.Contains(fields["components"], "main") && len(fields["uris"]) > 0 {
			return fields["uris"][0]
		}
	}
	return ""
}
