package helper

import (
	"context"
	"io"
	"time"
)

// CloseBolt ends a Bolt session and the tunnel it went through (either may
// be nil) on a fresh context bounded to 10 s: it runs on the way out, when
// ctx may be cancelled (Ctrl-C) and the database may be gone.
func CloseBolt(ctx context.Context, session interface{ Close(context.Context) error }, tunnel io.Closer) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if session != nil {
		_ = session.Close(cctx)
	}
	if tunnel != nil {
		_ = tunnel.Close()
	}
}
