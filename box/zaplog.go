package box

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger returns a zap logger, as certmagic wants one, that writes
// through log. certmagic's Info lines (locks, renewal checks) are demoted to
// Debug so the box's own log stays readable, and so are the errors certmagic
// and acmez log for each failed attempt at a certificate (see
// attemptFailure): the box's own line, from onEvent, says what failed and
// what to fix. Other warnings and errors keep their level.
func newZapLogger(log *slog.Logger) *zap.Logger {
	return zap.New(slogCore{h: log.Handler()})
}

// slogCore is a zapcore.Core that hands every entry to a slog.Handler.
type slogCore struct {
	h slog.Handler
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}

// attemptFailure reports whether msg is one certmagic or acmez logs at
// error priority while one attempt at a certificate fails; each attempt's
// failure also reaches onEvent as cert_failed, which logs it once, with
// the fix.
func attemptFailure(msg string) bool {
	for _, m := range [...]string{
		"validating authorization",
		"challenge failed",
		"could not get certificate from issuer",
		"job failed",
		"will retry",
		"final attempt; giving up",
	} {
		if strings.HasPrefix(msg, m) {
			return true
		}
	}
	return false
}

// entryLevel is the slog level for e: its own, but Debug for the detail of
// a failed attempt at a certificate.
func entryLevel(e zapcore.Entry) slog.Level {
	if e.Level >= zapcore.ErrorLevel && attemptFailure(e.Message) {
		return slog.LevelDebug
	}
	return slogLevel(e.Level)
}

// Enabled reports whether entries at l may be written; the level an entry
// is written at is decided in Check, which sees its message.
func (c slogCore) Enabled(l zapcore.Level) bool {
	ctx := context.Background()
	return c.h.Enabled(ctx, slogLevel(l)) || (l >= zapcore.ErrorLevel && c.h.Enabled(ctx, slog.LevelDebug))
}

func (c slogCore) With(fields []zapcore.Field) zapcore.Core {
	return slogCore{h: c.h.WithAttrs(slogAttrs(fields))}
}

func (c slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.h.Enabled(context.Background(), entryLevel(e)) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, entryLevel(e), e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", strings.TrimPrefix(e.LoggerName, ".")))
	}
	r.AddAttrs(slogAttrs(fields)...)
	return c.h.Handle(context.Background(), r)
}

func (slogCore) Sync() error { return nil }

// slogAttrs converts zap fields to slog attributes in a stable order.
func slogAttrs(fields []zapcore.Field) []slog.Attr {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	return mapAttrs(enc.Fields)
}

// mapAttrs converts an encoded zap object to slog attributes sorted by key;
// nested objects (ACME problems, for one) become groups, so they are
// written as fields rather than as Go maps.
func mapAttrs(m map[string]any) []slog.Attr {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		if sub, ok := m[k].(map[string]any); ok {
			attrs = append(attrs, slog.Attr{Key: k, Value: slog.GroupValue(mapAttrs(sub)...)})
			continue
		}
		attrs = append(attrs, slog.Any(k, m[k]))
	}
	return attrs
}
