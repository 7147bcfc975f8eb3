package platform

import (
	"context"
	"fmt"

	"github.com/chatbox-dev/chatbox/platform/firewall"
)

// NftState reads the nftables ruleset (nft -j list ruleset) and says what
// it does with ports; when nft is not installed or no chain looks at
// incoming connections, nothing filters them.
func NftState(ctx context.Context, h *Host, ports ...int) (firewall.State, error) {
	if !h.HasCommand("nft") {
		return Unfiltered(ports...), nil
	}
	out, err := h.Output(ctx, "nft", "-j", "list", "ruleset")
	if err != nil {
		return firewall.State{}, fmt.Errorf("read the nftables ruleset: %w", err)
	}
	rs, err := firewall.ParseNft(out)
	if err != nil {
		return firewall.State{}, err
	}
	if !rs.Filters() {
		return Unfiltered(ports...), nil
	}
	return rs.State(ports...), nil
}

// Unfiltered is the state of a host whose incoming connections no
// firewall filters: every port is open.
func Unfiltered(ports ...int) firewall.State {
	st := firewall.State{}
	for _, p := range ports {
		st.Verdicts = append(st.Verdicts, firewall.Verdict{Port: p, Open: true, Why: "no firewall filters incoming connections"})
	}
	return st
}
