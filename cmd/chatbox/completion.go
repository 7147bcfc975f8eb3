package main

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print a completion script for your shell.

  bash:  chatbox completion bash > /etc/bash_completion.d/chatbox
  zsh:   chatbox completion zsh > "${fpath[1]}/_chatbox"
  fish:  chatbox completion fish > ~/.config/fish/completions/chatbox.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("completion needs one shell: bash, zsh or fish")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(s.out, true)
			case "zsh":
				return root.GenZshCompletion(s.out)
			case "fish":
				return root.GenFishCompletion(s.out, true)
			}
			return usagef("%q is not a supported shell; use bash, zsh or fish", args[0])
		},
	}
}
