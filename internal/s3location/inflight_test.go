package s3location_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

// behindProxy opens a location on a fresh bucket of the shared versitygw
// through a proxy that hands each upload of part 2 to onPart2, with the
// proxy to versitygw as next (everything else goes through as it is; the
// Host header is kept, so signatures hold).
func behindProxy(t *testing.T, onPart2 func(w http.ResponseWriter, r *http.Request, next http.Handler)) *s3location.Location {
	srv := s3test.ForTest(t)
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	bucket, err := srv.MakeBucket("inflight")
	assert.NilError(t, err)
	target, err := url.Parse(srv.Endpoint)
	assert.NilError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" {
			onPart2(w, r, rp)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	loc, err := s3location.Open(t.Context(), "s3://"+bucket+"/p", s3location.Options{Endpoint: proxy.URL, PartSize: s3location.MinPartSize})
	assert.NilError(t, err)
	return loc
}

// upload writes size zero bytes to a new object and commits it.
func upload(ctx context.Context, loc *s3location.Location, name string, size int64) (backupset.ObjectWriter, error) {
	w, err := loc.Create(ctx, name, backupset.CreateOptions{Size: size})
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, &zeros{left: size}); err != nil {
		return w, err
	}
	_, err = w.Commit()
	return w, err
}

// TestFailedPartInFlightLeavesNoUpload: the server refuses part 2 while
// part 3 fills; the error surfaces, the upload is aborted (no incomplete
// upload left), no object is committed, and the next upload through the
// same location (reusing the part buffers) is whole.
func TestFailedPartInFlightLeavesNoUpload(t *testing.T) {
	atDepths(t, testFailedPartInFlightLeavesNoUpload)
}

func testFailedPartInFlightLeavesNoUpload(t *testing.T) {
	var failed atomic.Bool
	loc := behindProxy(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if failed.Swap(true) {
			next.ServeHTTP(w, r) // once only
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidPart</Code><Message>injected failure of part 2</Message></Error>`)
	})
	const size = 4*s3location.MinPartSize + 99
	w, err := upload(t.Context(), loc, "big", size)
	assert.Check(t, is.ErrorContains(err, "part 2"))
	w.Abort()
	left, err := loc.Leftovers(t.Context())
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0))
	objs, err := loc.List(t.Context(), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0))

	_, err = upload(t.Context(), loc, "again", size)
	assert.NilError(t, err)
	info, err := loc.Stat(t.Context(), "again")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(info.Size, int64(size)))
}

// TestCancelWithPartInFlight: the run is cancelled (Ctrl-C) while part 2
// hangs on the server; the writer returns, the part's request ends, and
// Abort removes the upload.
func TestCancelWithPartInFlight(t *testing.T) { atDepths(t, testCancelWithPartInFlight) }

func testCancelWithPartInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	arrived, ended := make(chan struct{}), make(chan struct{})
	loc := behindProxy(t, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		defer close(ended)
		close(arrived)
		io.Copy(io.Discard, r.Body) // the server sees the client go only once the body is read
		<-r.Context().Done()        // hangs until the client gives up
	})
	go func() {
		<-arrived
		cancel()
	}()
	w, err := upload(ctx, loc, "big", 4*s3location.MinPartSize)
	assert.Check(t, is.ErrorIs(err, context.Canceled))
	w.Abort()
	<-ended
	left, err := loc.Leftovers(t.Context())
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0))
}

// TestAbortWithPartInFlight: Abort itself, with the run's context alive,
// stops the part in flight and removes the upload.
func TestAbortWithPartInFlight(t *testing.T) { atDepths(t, testAbortWithPartInFlight) }

func testAbortWithPartInFlight(t *testing.T) {
	arrived, ended := make(chan struct{}), make(chan struct{})
	loc := behindProxy(t, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		defer close(ended)
		close(arrived)
		io.Copy(io.Discard, r.Body) // the server sees the client go only once the body is read
		<-r.Context().Done()
	})
	w, err := loc.Create(t.Context(), "big", backupset.CreateOptions{Size: 4 * s3location.MinPartSize})
	assert.NilError(t, err)
	_, err = io.Copy(w, &zeros{left: 2*s3location.MinPartSize + 1}) // part 2 goes in flight
	assert.NilError(t, err)
	<-arrived
	w.Abort()
	<-ended
	left, err := loc.Leftovers(t.Context())
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0))
	_, err = w.Commit()
	assert.Check(t, is.ErrorContains(err, "already committed or aborted"))
}

// atDepths runs test with one part in flight, then two (the plugin's).
func atDepths(t *testing.T, test func(*testing.T)) {
	for _, depth := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d-in-flight", depth), func(t *testing.T) {
			defer s3location.SetPartsInFlight(depth)()
			test(t)
		})
	}
}

// TestPartCorruptedInTransitIsRefused: one byte of part 2 changes on its
// way (same length). Each part's payload goes out unsigned, as over HTTPS:
// its Content-MD5, taken as the part filled, is what the server checks, so
// the part is refused, the upload aborted and nothing committed.
func TestPartCorruptedInTransitIsRefused(t *testing.T) {
	var corrupted atomic.Bool
	loc := behindProxy(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 1000 && !corrupted.Swap(true) {
			body[1000] ^= 1
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
	const size = 3*s3location.MinPartSize + 5
	w, err := upload(t.Context(), loc, "big", size)
	assert.Check(t, corrupted.Load(), "part 2 did not pass the proxy")
	assert.Check(t, is.ErrorContains(err, "part 2"))
	w.Abort()
	objs, err := loc.List(t.Context(), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0))
	left, err := loc.Leftovers(t.Context())
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0))
}
