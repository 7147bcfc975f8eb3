package box

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestJournalHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newJournalHandler(&buf))
	log.With("box", "chat.example.com").WithGroup("tls").Info("certificate obtained", "issuer", "acme")
	log.Error("could not get a certificate", "err", "timeout")
	log.Debug("not shown")
	want := "<6>level=INFO msg=\"certificate obtained\" box=chat.example.com tls.issuer=acme\n" +
		"<3>level=ERROR msg=\"could not get a certificate\" err=timeout\n"
	if buf.String() != want {
		t.Errorf("journal lines:\n%s\nwant:\n%s", buf.String(), want)
	}
}
