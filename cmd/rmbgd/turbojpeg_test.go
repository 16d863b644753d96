//go:build turbojpeg

package main

func init() { testBuildTags = "turbojpeg" }
