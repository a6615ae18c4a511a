package s3location

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// The lock of a location is one lease object, locks/lock.json:
//
//   - acquire: PUT with If-None-Match: * (only one client can create it);
//   - refresh: PUT with If-Match: <our ETag>, keeping the new ETag; a 412
//     means another run broke the lease: stop before the next destructive step;
//   - a lease whose expiry (plus a margin for clock skew) has passed, or
//     whose holder was a process of this machine that is gone, is stale
//     and taken over with If-Match: <its ETag>, so two takers cannot both
//     win;
//   - release: delete it if its ETag is still ours.
//
// Unlike restic's lock files on object storage (write, wait, list), two
// clients on two machines can never both hold it, and a crashed holder's
// lease expires instead of blocking the location forever.
const (
	// LeaseTTL is how long a lease lasts without a refresh. Runs refresh it
	// every LeaseTTL/4 or so (see Refresh).
	LeaseTTL = 10 * time.Minute
	// clockSkew is added before a lease counts as stale.
	clockSkew  = 2 * time.Minute
	leaseLimit = 64 << 10
)

// leaseInfo is the content of the lease object.
type leaseInfo struct {
	backupset.LockInfo
	// Machine tells two machines with one host name apart (see
	// backupset.MachineID): a lease of a dead process is taken over at
	// once only on the machine that ran it.
	Machine string    `json:"machine,omitempty"`
	Expires time.Time `json:"expires"`
	// Token makes every write of a lease unique, so its ETag (the MD5 of
	// the content on every store we know) changes on each refresh.
	Token string `json:"token"`
}

type lease struct {
	l   *Location
	now func() time.Time

	mu   sync.Mutex // guards info, etag and lost against the keep-alive
	info leaseInfo
	etag string
	lost bool
	stop chan struct{}
	done chan struct{}
}

// keepAliveEvery is how often a held lease is refreshed in the background,
// so that one long upload never outlives it.
const keepAliveEvery = LeaseTTL / 4

// keepAlive refreshes the lease until Release; a failed refresh marks it
// lost, which the run's next Refresh reports.
func (ls *lease) keepAlive(ctx context.Context) {
	ls.stop, ls.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ls.done)
		t := time.NewTicker(keepAliveEvery)
		defer t.Stop()
		for {
			select {
			case <-ls.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := ls.Refresh(ctx); errors.Is(err, backupset.ErrLeaseLost) {
					return
				}
			}
		}
	}()
}

// Lock takes the location's lease for command.
func (l *Location) Lock(ctx context.Context, command string) (backupset.Lease, error) {
	host, _ := os.Hostname()
	ls := &lease{l: l, now: time.Now}
	ls.info.LockInfo = backupset.LockInfo{Host: host, PID: os.Getpid(), Command: command, Started: time.Now().UTC()}
	ls.info.Machine = backupset.MachineID()
	key := l.prefix + LeaseName
	for range 3 {
		etag, err := ls.put(ctx, func(o *minio.PutObjectOptions) { o.SetMatchETagExcept("*") })
		if err == nil {
			ls.etag = etag
			ls.keepAlive(context.WithoutCancel(ctx))
			return ls, nil
		}
		if !errors.Is(err, backupset.ErrObjectExists) {
			return nil, fmt.Errorf("take the lock of %s: %w", l.Describe(), err)
		}
		holder, holderETag, err := l.readLease(ctx)
		if errors.Is(err, backupset.ErrObjectNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, err
		}
		if ls.now().Before(holder.Expires.Add(clockSkew)) && !deadHere(holder, ls.info) {
			return nil, &backupset.LockedError{Path: l.url + LeaseName, Holder: holder.LockInfo}
		}
		// Stale: take it over, unless someone else just did.
		etag, err = ls.put(ctx, func(o *minio.PutObjectOptions) { o.SetMatchETag(holderETag) })
		if err == nil {
			ls.etag = etag
			ls.keepAlive(context.WithoutCancel(ctx))
			return ls, nil
		}
		if !errors.Is(err, backupset.ErrObjectExists) {
			return nil, fmt.Errorf("take over the stale lock %s: %w", key, err)
		}
	}
	return nil, &backupset.LockedError{Path: l.url + LeaseName}
}

// deadHere says the holder was a process of this very machine that is gone
// (a killed run): its lease need not run out first.
func deadHere(holder, me leaseInfo) bool {
	return holder.PID > 0 && holder.Machine != "" && holder.Machine == me.Machine && holder.Host == me.Host &&
		holder.PID != me.PID && !backupset.ProcessAlive(holder.PID)
}

// put writes the lease with a fresh expiry and token under cond.
func (ls *lease) put(ctx context.Context, cond func(*minio.PutObjectOptions)) (string, error) {
	var tok [8]byte
	rand.Read(tok[:])
	ls.info.Token = hex.EncodeToString(tok[:])
	ls.info.Expires = ls.now().UTC().Add(LeaseTTL)
	data, err := json.Marshal(ls.info)
	if err != nil {
		return "", err
	}
	info, err := ls.l.putSmall(ctx, ls.l.prefix+LeaseName, append(data, '\n'), cond)
	if err != nil {
		return "", err
	}
	return info.ETag, nil
}

func (l *Location) readLease(ctx context.Context) (leaseInfo, string, error) {
	rc, info, _, err := l.core.GetObject(ctx, l.bucket, l.prefix+LeaseName, minio.GetObjectOptions{})
	if err != nil {
		return leaseInfo{}, "", l.describeErr("read", LeaseName, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, leaseLimit))
	if err != nil {
		return leaseInfo{}, "", l.describeErr("read", LeaseName, err)
	}
	var li leaseInfo
	if json.Unmarshal(data, &li) != nil {
		// Not ours or torn (a PUT is atomic, so not torn): treat it as
		// expired at its last modification.
		li = leaseInfo{Expires: info.LastModified.Add(LeaseTTL)}
	}
	return li, info.ETag, nil
}

// Refresh extends the lease if it is still ours.
func (ls *lease) Refresh(ctx context.Context) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.lost || ls.etag == "" {
		return fmt.Errorf("%s: %w", ls.l.url+LeaseName, backupset.ErrLeaseLost)
	}
	cur := ls.etag
	etag, err := ls.put(ctx, func(o *minio.PutObjectOptions) { o.SetMatchETag(cur) })
	if errors.Is(err, backupset.ErrObjectExists) || errors.Is(err, backupset.ErrObjectNotFound) {
		ls.lost = true
		return fmt.Errorf("%s: %w", ls.l.url+LeaseName, backupset.ErrLeaseLost)
	}
	if err != nil {
		return err
	}
	ls.etag = etag
	return nil
}

// Release stops the keep-alive and deletes the lease if it is still ours.
// S3 has no conditional delete everywhere, so this reads first: a lease
// taken over in between is left alone.
func (ls *lease) Release(ctx context.Context) error {
	if ls.stop != nil {
		select {
		case <-ls.stop:
		default:
			close(ls.stop)
		}
		<-ls.done
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.etag == "" || ls.lost {
		if ls.lost {
			return fmt.Errorf("lock %s was taken over by another run while this one held it; left in place", ls.l.url+LeaseName)
		}
		return nil
	}
	_, etag, err := ls.l.readLease(ctx)
	if errors.Is(err, backupset.ErrObjectNotFound) {
		ls.etag = ""
		return fmt.Errorf("lock %s was removed while this run held it", ls.l.url+LeaseName)
	}
	if err != nil {
		return err
	}
	if etag != ls.etag {
		return fmt.Errorf("lock %s was taken over by another run while this one held it; left in place", ls.l.url+LeaseName)
	}
	ls.etag = ""
	return ls.l.Delete(ctx, LeaseName)
}
