package buildctx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// IgnoreFile is the name of the ignore file at the root of a function's folder.
const IgnoreFile = ".hearthignore"

// Ignore is a parsed .hearthignore. The rules follow .gitignore:
//   - blank lines and lines starting with "#" are skipped;
//   - a pattern without a "/" matches a file or folder name at any depth ("*.log", "tmp");
//   - a pattern with a "/" (other than a trailing one) matches the path from the root
//     ("/build", "docs/*.md"), and "**" matches any number of folders ("**/testdata", "a/**");
//   - a trailing "/" matches folders only ("cache/");
//   - a leading "!" re-includes what an earlier pattern excluded; the last matching rule wins.
//
// As in git, a file inside an excluded folder cannot be re-included: the folder is not read.
// The zero Ignore (or nil) excludes nothing.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	negate   bool
	dirOnly  bool
	anchored bool     // matched against the whole path, else against the base name
	segs     []string // the pattern split on "/"
}

// ParseIgnore parses the text of an ignore file. A malformed glob is an error naming its line.
func ParseIgnore(data []byte) (*Ignore, error) {
	ig := &Ignore{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var r ignoreRule
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, rest
		}
		// "\#" and "\!" stand for patterns that really start with those characters.
		if strings.HasPrefix(line, `\#`) || strings.HasPrefix(line, `\!`) {
			line = line[1:]
		}
		if rest, ok := strings.CutSuffix(line, "/"); ok {
			r.dirOnly, line = true, rest
		}
		if rest, ok := strings.CutPrefix(line, "/"); ok {
			r.anchored, line = true, rest
		}
		if line == "" {
			continue
		}
		if strings.Contains(line, "/") {
			r.anchored = true
		}
		r.segs = strings.Split(line, "/")
		for _, s := range r.segs {
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("%s line %d: bad pattern %q: %w", IgnoreFile, n, line, err)
			}
		}
		ig.rules = append(ig.rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", IgnoreFile, err)
	}
	return ig, nil
}

// LoadIgnore reads IgnoreFile at the root of src. A missing file is an empty Ignore.
func LoadIgnore(src fs.FS) (*Ignore, error) {
	data, err := fs.ReadFile(src, IgnoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return &Ignore{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseIgnore(data)
}

// Match reports whether the rules exclude name, a slash-separated path relative to the root;
// isDir says whether it is a folder. It looks at name itself only: a walker skips an excluded
// folder, which excludes everything inside it.
func (ig *Ignore) Match(name string, isDir bool) bool {
	if ig == nil {
		return false
	}
	excluded := false
	segs := strings.Split(name, "/")
	for _, r := range ig.rules {
		if r.negate != excluded {
			continue // this rule cannot change the outcome
		}
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			ok = matchSegments(r.segs, segs)
		} else {
			ok, _ = path.Match(r.segs[0], segs[len(segs)-1])
		}
		if ok {
			excluded = !r.negate
		}
	}
	return excluded
}

// matchSegments matches a pattern's segments against a path's, "**" standing for zero or more
// whole segments (one or more when it ends the pattern, so that "a/**" is what is inside a).
func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return len(name) > 0
			}
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
