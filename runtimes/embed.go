package runtimes

import "embed"

// embedded holds every runtime folder's files the binary needs: the manifest, the templates,
// the scaffold and the base images' Dockerfiles. Patterns rather than folder names, so that a
// new runtime is picked up by adding its folder; a folder is a runtime only when it has a
// runtime.yaml (load skips the rest). The patterns name files, not folders, because a folder
// pattern fails the build on an empty folder. testdata/ is left out: it is for tests only.
//
//go:embed */runtime.yaml */*.tmpl */README.md */shim/* all:*/scaffold/* */images/*
var embedded embed.FS
