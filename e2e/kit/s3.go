package kit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

// S3Location is a fresh bucket prefix on the run's S3 server: versitygw
// (internal/s3location/s3test), started on 127.0.0.1 on first use and
// stopped by Main. Without the binary the test is skipped, or fails when
// INFRAHUBDB_REQUIRE_S3 is set (.ci/run sets it).
type S3Location struct {
	URL    string   // s3://BUCKET/PREFIX, the FOLDER argument
	Bucket string   // the bucket's name
	Prefix string   // without slashes at either end
	Env    []string // AWS_* variables a plugin command needs (append to Plugin.Env)
	Server *s3test.Server
}

// NewS3Location makes a bucket for the test on the run's S3 server.
func NewS3Location(t testing.TB, prefix string) *S3Location {
	t.Helper()
	srv := s3test.ForTest(t)
	bucket, err := srv.MakeBucket("e2e")
	if err != nil {
		t.Fatalf("make S3 bucket: %v", err)
	}
	loc := &S3Location{URL: "s3://" + bucket + "/" + prefix, Bucket: bucket, Prefix: prefix, Server: srv}
	for k, v := range srv.Env() {
		loc.Env = append(loc.Env, k+"="+v)
	}
	return loc
}

// ObjectPath is the file that holds an object on the server's disk (the
// posix backend keeps objects as plain files), for tests that corrupt or
// truncate an artifact behind the plugin's back.
func (l *S3Location) ObjectPath(name string) string {
	key := name
	if l.Prefix != "" {
		key = l.Prefix + "/" + name
	}
	return filepath.Join(l.Server.DataDir, l.Bucket, filepath.FromSlash(key))
}

// FlipByte flips one byte of an object in place, at offset from its start.
func (l *S3Location) FlipByte(t testing.TB, name string, offset int64) {
	t.Helper()
	f, err := os.OpenFile(l.ObjectPath(name), os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("flip a byte of %s: %v", name, err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, offset); err != nil {
		t.Fatalf("flip a byte of %s: %v", name, err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, offset); err != nil {
		t.Fatalf("flip a byte of %s: %v", name, err)
	}
}
