package box

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// problem stands in for the ACME problem documents certmagic and acmez log
// as zap objects.
type problem struct{ typ, detail string }

func (p problem) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("type", p.typ)
	enc.AddString("detail", p.detail)
	return nil
}

// One failed attempt, as certmagic and acmez log it: chatbox's onEvent
// line is the one at error priority, so these are detail, at debug.
func TestZapLoggerDemotesAnAttemptsFailureToDebug(t *testing.T) {
	var buf bytes.Buffer
	zl := newZapLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	err := errors.New("unknown profile name 'shortlived'")
	zl.Named("acme_client").Error("validating authorization", zap.Object("problem", problem{"urn:ietf:params:acme:error:connection", "timeout"}))
	zl.Named("acme_client").Error("challenge failed", zap.String("identifier", "127.0.0.1"))
	zl.Named("obtain").Error("could not get certificate from issuer", zap.String("identifier", "127.0.0.1"), zap.Error(err))
	zl.Error("job failed", zap.Error(err))
	zl.Error("will retry", zap.Error(err), zap.Int("attempt", 1))
	zl.Error("final attempt; giving up", zap.Error(err))
	out := buf.String()
	if n := strings.Count(out, "level=ERROR"); n != 0 {
		t.Errorf("one failed attempt wrote %d lines at error priority, want 0 (chatbox's own line says it):\n%s", n, out)
	}
	if n := strings.Count(out, "level=DEBUG"); n != 6 {
		t.Errorf("wrote %d lines at debug, want the 6 lines of detail:\n%s", n, out)
	}
	if strings.Contains(out, "map[") {
		t.Errorf("a zap object was written as a Go map:\n%s", out)
	}
	if !strings.Contains(out, "problem.detail=timeout") {
		t.Errorf("a zap object's fields are not written as fields:\n%s", out)
	}
}

// What chatbox does not report itself keeps its level.
func TestZapLoggerKeepsOtherErrors(t *testing.T) {
	var buf bytes.Buffer
	zl := newZapLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	zl.Named("maintenance").Error("unable to clean up lock in storage backend", zap.Error(errors.New("permission denied")))
	zl.Warn("ACME account does not exist on server; attempting to recreate")
	zl.Info("acquiring lock")
	out := buf.String()
	if strings.Count(out, "level=ERROR") != 1 || strings.Count(out, "level=WARN") != 1 || strings.Contains(out, "acquiring lock") {
		t.Errorf("want the storage error at error, the warning at warn and the info line hidden:\n%s", out)
	}
}
