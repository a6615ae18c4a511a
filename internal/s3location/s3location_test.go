package s3location_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/backupset/locationtest"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

func TestMain(m *testing.M) {
	if url := os.Getenv("INFRAHUBDB_TEST_HOLD_LEASE"); url != "" {
		holdLease(url) // the child process of TestLeaseOfAKilledRun
	}
	code := m.Run()
	s3test.StopShared()
	os.Exit(code)
}

// open connects to a fresh bucket of the shared versitygw through the
// standard credential chain (the environment, as an operator would).
func open(t *testing.T, prefix string) (*s3location.Location, string) {
	srv := s3test.ForTest(t)
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	bucket, err := srv.MakeBucket("conf")
	assert.NilError(t, err)
	url := "s3://" + bucket + "/" + prefix
	loc, err := s3location.Open(t.Context(), url, s3location.Options{PartSize: s3location.MinPartSize})
	assert.NilError(t, err)
	return loc, url
}

func TestConformance(t *testing.T) {
	locationtest.Run(t, locationtest.Config{
		New: func(t *testing.T) backupset.Location {
			loc, _ := open(t, "some/prefix")
			return loc
		},
		BigSize: 2*s3location.MinPartSize + 12345,
		Settle:  s3location.Settle,
	})
}

// TestConformanceTLS runs the suite over HTTPS, the path production takes
// (minio-go signs UNSIGNED-PAYLOAD there instead of aws-chunked), trusting
// the server through --s3-ca-bundle.
func TestConformanceTLS(t *testing.T) {
	locationtest.Run(t, locationtest.Config{
		New: func(t *testing.T) backupset.Location {
			srv := s3test.ForTestTLS(t)
			for k, v := range srv.Env() {
				t.Setenv(k, v)
			}
			bucket, err := srv.MakeBucket("tls")
			assert.NilError(t, err)
			loc, err := s3location.Open(t.Context(), "s3://"+bucket+"/p", s3location.Options{PartSize: s3location.MinPartSize, CABundle: srv.CAFile})
			assert.NilError(t, err)
			return loc
		},
		BigSize: 2*s3location.MinPartSize + 777,
		Settle:  s3location.Settle,
	})
	// Without the CA bundle the self-signed server is refused.
	srv := s3test.ForTestTLS(t)
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	_, err := s3location.Open(t.Context(), "s3://any/p", s3location.Options{})
	assert.Check(t, is.ErrorContains(err, "certificate"))
}

func TestProbeAndCapabilities(t *testing.T) {
	loc, url := open(t, "")
	caps := loc.Capabilities()
	assert.Check(t, caps.CreateOnly, "versitygw refuses a second create")
	assert.Check(t, is.Equal(caps.LocalDir, ""), "a bucket is never bind-mounted")

	// Opening again finds the marker: one refused create is the probe.
	again, err := s3location.Open(t.Context(), url, s3location.Options{})
	assert.NilError(t, err)
	assert.Check(t, again.Capabilities().CreateOnly)

	objs, err := loc.List(t.Context(), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0), "the marker is not a backup object")
}

// TestLeaseAcrossClients: two clients (two Location values, as two hosts)
// never hold the lock together; a broken lease is noticed on refresh.
func TestLeaseAcrossClients(t *testing.T) {
	a, url := open(t, "p")
	b, err := s3location.Open(t.Context(), url, s3location.Options{})
	assert.NilError(t, err)

	la, err := a.Lock(t.Context(), "backup")
	assert.NilError(t, err)
	_, err = b.Lock(t.Context(), "prune")
	var locked *backupset.LockedError
	assert.Assert(t, errors.As(err, &locked), "%v", err)
	assert.Check(t, is.Equal(locked.Holder.Command, "backup"))
	assert.Check(t, strings.Contains(err.Error(), url), "%v", err)

	// Someone removes the lease by hand and b takes the lock: a's next
	// refresh must fail, and a's release must leave b's lease alone.
	assert.NilError(t, a.Delete(t.Context(), s3location.LeaseName))
	lb, err := b.Lock(t.Context(), "prune")
	assert.NilError(t, err)
	assert.Check(t, errors.Is(la.Refresh(t.Context()), backupset.ErrLeaseLost))
	assert.Check(t, is.ErrorContains(la.Release(t.Context()), "taken over"), "a lost lease is reported and left alone")
	assert.NilError(t, lb.Refresh(t.Context()))
	_, err = a.Lock(t.Context(), "backup")
	assert.Assert(t, errors.As(err, &locked), "b still holds it: %v", err)
	assert.NilError(t, lb.Release(t.Context()))
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix string }{
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://b/p/q/", "b", "p/q/"},
	} {
		bucket, prefix, err := s3location.ParseURL(tc.in)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(bucket, tc.bucket))
		assert.Check(t, is.Equal(prefix, tc.prefix))
	}
	for _, bad := range []string{"s3://", "s3://user:hunter2@b/p", "s3://b/../x", "/srv/backups"} {
		_, _, err := s3location.ParseURL(bad)
		assert.Assert(t, err != nil, bad)
		assert.Check(t, !strings.Contains(err.Error(), "hunter2"), "%v", err)
	}
}

// TestNoSecretInErrors: a wrong secret and an endpoint with user info give
// errors that do not echo the secret.
func TestNoSecretInErrors(t *testing.T) {
	srv := s3test.ForTest(t)
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-42")
	_, err := s3location.Open(context.Background(), "s3://nobucket/x", s3location.Options{})
	assert.Assert(t, err != nil)
	assert.Check(t, !strings.Contains(err.Error(), "wrong-secret-value-42"), "%v", err)

	_, err = s3location.Open(context.Background(), "s3://b/x", s3location.Options{Endpoint: "https://key:topsecret@example.invalid"})
	assert.Assert(t, err != nil)
	assert.Check(t, !strings.Contains(err.Error(), "topsecret"), "%v", err)
}

// holdLease takes the lease of url and waits to be killed.
func holdLease(url string) {
	loc, err := s3location.Open(context.Background(), url, s3location.Options{})
	if err == nil {
		_, err = loc.Lock(context.Background(), "copy")
	}
	if err != nil {
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("HELD\n")
	select {}
}

// TestLeaseOfAKilledRun: a run killed on this machine leaves its lease; the
// next run here takes it over at once instead of waiting for it to expire.
func TestLeaseOfAKilledRun(t *testing.T) {
	if backupset.MachineID() == "" {
		t.Skip("this machine has no machine id (/etc/machine-id): leases then only expire")
	}
	loc, url := open(t, "killed")
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "INFRAHUBDB_TEST_HOLD_LEASE="+url)
	out, err := child.StdoutPipe()
	assert.NilError(t, err)
	assert.NilError(t, child.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	assert.NilError(t, err)
	assert.Equal(t, line, "HELD\n")
	// Another live holder is respected.
	_, err = loc.Lock(t.Context(), "prune")
	var locked *backupset.LockedError
	assert.Assert(t, errors.As(err, &locked), "%v", err)
	assert.NilError(t, child.Process.Kill())
	_ = child.Wait()
	lease, err := loc.Lock(t.Context(), "prune")
	assert.NilError(t, err, "the dead holder's lease is taken over")
	assert.NilError(t, lease.Release(t.Context()))
}
