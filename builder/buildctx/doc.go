// Package buildctx makes deterministic Docker build contexts and moves function sources between
// the CLI and the server.
//
// A Context is a set of files (a function's source plus the files a runtime renders) that
// writes the same tar bytes and the same content hash whatever the files' mtimes, owners or
// umask: entries are sorted, times are zero, owners are root, and modes are 0644 or 0755 (0777
// for symlinks). The hash names the image ("hearth/<fn>:<hash[:16]>"), so an unchanged source
// redeploys without a build.
//
// PackDir is what the CLI uploads (a gzip-compressed tar of the function's folder, honouring
// .hearthignore and always leaving out .git); Extract is the server's side, which refuses
// archives that would write outside their folder, grow past a size limit or hold too many
// entries. FuzzExtract (fuzz_test.go) holds it to that.
//
// Where to read next: ignore.go (the .hearthignore rules), builder/docker (the user of Context).
package buildctx
