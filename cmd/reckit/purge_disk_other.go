//go:build !(linux || darwin)

package main

import "errors"

var errNoDiskSpace = errors.New("--keep-free is not supported on this system")

func fileSystemID(string) (string, error) { return "", errNoDiskSpace }

func diskSpace(string) (int64, int64, error) { return 0, 0, errNoDiskSpace }
