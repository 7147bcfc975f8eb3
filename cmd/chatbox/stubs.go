package main

// Commands not built yet each have a stub_NAME.go file that uses notYet;
// delete the stub file when the command gets a file of its own.

import (
	"errors"

	"github.com/spf13/cobra"
)

func notYet(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(*cobra.Command, []string) error {
			return errors.New(use + " is not available in this build yet")
		},
	}
}
