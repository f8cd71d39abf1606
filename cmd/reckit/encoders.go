package main

import (
	"fmt"

	"github.com/reckit/reckit/record"
)

// encoders maps --encoder names to factories. Builds with the libvpx tag
// add "libvpx" (encoders_libvpx.go).
var encoders = map[string]record.EncoderFactory{"pure-go": record.PureGo}

func encoderNames() []string {
	names := []string{"pure-go"}
	for n := range encoders {
		if n != "pure-go" {
			names = append(names, n)
		}
	}
	return names
}

func encoderFactory(name string) (record.EncoderFactory, error) {
	f, ok := encoders[name]
	if !ok {
		return nil, fmt.Errorf("encoder %q is not in this build", name)
	}
	return f, nil
}
