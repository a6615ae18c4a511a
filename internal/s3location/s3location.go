// Package s3location is the S3 implementation of backupset.Location: a
// bucket prefix on AWS S3 or any S3-compatible store, through minio-go.
//
// Every write is create-only (If-None-Match: *), on single PUTs and on the
// completion of multipart uploads, which this package drives itself through
// minio.Core: minio-go's high-level PutObject drops the condition on
// completion and silently replaces an existing object. Uploads are streamed
// through three part buffers (two parts in flight while the next fills);
// nothing is written to the client's disk.
//
// Credentials come only from the standard chain (environment, the shared
// credentials and config files with AWS_PROFILE, container, web-identity and
// instance roles): never from a flag, so never in argv, and no message of
// this package names one.
package s3location

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// Part sizes: S3 wants parts of at least 5 MiB (except the last) and at most
// 10 000 of them.
const (
	DefaultPartSize = 8 << 20
	MinPartSize     = 5 << 20
	maxParts        = 10_000
)

// Names of the location's own objects (next to runs/, see backupset).
const (
	// MarkerName marks a prefix as a location; writing it create-only on
	// every open is also the probe that the server refuses a second create.
	MarkerName = "infrahubdb-location.json"
	// LeaseName is the lock: one lease object (see lease.go).
	LeaseName = "locks/lock.json"
)

// Options configure a location. Zero values take the environment's.
type Options struct {
	// Endpoint is the S3 endpoint URL ("https://s3.example.com:9000");
	// empty takes AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then AWS.
	Endpoint string
	// Region; empty takes AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.
	Region string
	// CABundle is a PEM file of extra certificate authorities to trust.
	CABundle string
	// PartSize of multipart uploads (DefaultPartSize when 0). An upload
	// holds three parts in memory: two in flight while the next one fills.
	PartSize int64
	// ReadOnly skips the write probe, for list and verify with a read-only
	// credential.
	ReadOnly bool
	// AllowNoCreateOnly accepts a server that ignores If-None-Match:
	// create-only then rests on the lock alone (Capabilities says so).
	AllowNoCreateOnly bool
	// Getenv reads the environment (os.Getenv when nil); for tests.
	Getenv func(string) string
}

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

// Location is a bucket prefix.
type Location struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string // "" or ending in "/"
	url      string // s3://bucket/prefix
	endpoint string // host[:port] for messages
	partSize int64
	caps     backupset.Capabilities

	mu    sync.Mutex
	spare [][]byte // part buffers of finished uploads, for the next one
}

var _ backupset.Location = (*Location)(nil)

// IsURL says whether a FOLDER argument names an S3 location.
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// ParseURL splits "s3://bucket/prefix" into the bucket and a prefix that is
// empty or ends in "/".
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if strings.Contains(bucket, "@") {
		return "", "", errors.New("invalid S3 location: it must not hold credentials (user@ or user:secret@); give them through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials file or a role")
	}
	if bucket == "" || strings.ContainsAny(bucket, ":?#") {
		return "", "", fmt.Errorf("invalid S3 location %q: write s3://BUCKET or s3://BUCKET/PREFIX (the endpoint goes in --s3-endpoint or AWS_ENDPOINT_URL_S3, credentials in the environment)", s)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := backupset.CheckObjectName(prefix); err != nil {
			return "", "", fmt.Errorf("invalid S3 location %q: %w", s, err)
		}
		prefix += "/"
	}
	return bucket, prefix, nil
}

// Open connects to the location named by rawURL and, unless ReadOnly, probes
// that the server refuses a second create. The bucket must exist.
func Open(ctx context.Context, rawURL string, o Options) (*Location, error) {
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	host, secure, err := endpoint(o)
	if err != nil {
		return nil, err
	}
	region := firstNonEmpty(o.Region, o.getenv("AWS_REGION"), o.getenv("AWS_DEFAULT_REGION"), "us-east-1")
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	if o.CABundle != "" {
		if transport.TLSClientConfig, err = tlsConfig(o.CABundle); err != nil {
			return nil, err
		}
	}
	lookup := minio.BucketLookupPath // custom endpoints: path style
	if host == "s3.amazonaws.com" || strings.HasSuffix(host, ".amazonaws.com") {
		lookup = minio.BucketLookupAuto
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentialChain(),
		Secure:       secure,
		Transport:    transport,
		Region:       region, // with a region, minio-go never asks GetBucketLocation
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %s: %w", host, err)
	}
	partSize := o.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < MinPartSize || partSize > 5<<30 {
		return nil, fmt.Errorf("S3 part size %d is out of range: S3 takes parts from 5 MiB to 5 GiB", partSize)
	}
	l := &Location{
		client: client, core: minio.Core{Client: client}, bucket: bucket, prefix: prefix,
		url: "s3://" + bucket + "/" + prefix, endpoint: host, partSize: partSize,
	}
	if err := l.checkBucket(ctx); err != nil {
		return nil, err
	}
	if v, err := client.GetBucketVersioning(ctx, bucket); err == nil && v.Enabled() {
		l.caps.Versioned = true
	}
	if o.ReadOnly {
		return l, nil
	}
	l.caps.CreateOnly, err = l.probe(ctx)
	if err != nil {
		return nil, err
	}
	if !l.caps.CreateOnly && !o.AllowNoCreateOnly {
		return nil, fmt.Errorf("%s replaced an object that was written with If-None-Match: *: this server does not honour create-only writes, so a second writer could overwrite a backup; use a store that does (AWS S3, versitygw, SeaweedFS, Ceph RGW 19+), or accept relying on the lock alone with --s3-allow-overwrite", l.Describe())
	}
	return l, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// endpoint returns host[:port] and whether to use TLS.
func endpoint(o Options) (string, bool, error) {
	raw := firstNonEmpty(o.Endpoint, o.getenv("AWS_ENDPOINT_URL_S3"), o.getenv("AWS_ENDPOINT_URL"))
	if raw == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("invalid S3 endpoint: %w", redactURLError(err))
	}
	switch {
	case u.User != nil:
		return "", false, errors.New("the S3 endpoint must not hold credentials: give them through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials file or a role")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("S3 endpoint %s: the scheme must be http or https", u.Host)
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
		return "", false, fmt.Errorf("S3 endpoint %q must be scheme://host[:port] only; the bucket and prefix go in s3://BUCKET/PREFIX", u.Redacted())
	}
	return u.Host, u.Scheme == "https", nil
}

// redactURLError keeps url.Parse from echoing a URL that may hold a secret.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func tlsConfig(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("S3 CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("S3 CA bundle %s holds no PEM certificate", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// credentialChain is the standard AWS chain, in the AWS SDKs' order.
func credentialChain() *credentials.Credentials {
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{}, // AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_PROFILE
		&credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
	})
}

func (l *Location) checkBucket(ctx context.Context) error {
	ok, err := l.client.BucketExists(ctx, l.bucket)
	if err != nil {
		return l.describeErr("open", "", err)
	}
	if !ok {
		return fmt.Errorf("bucket %q does not exist at %s; create it first (this plugin never creates buckets)", l.bucket, l.endpoint)
	}
	return nil
}

// probe writes the location's marker create-only; when it was new, it writes
// it again, which the server must refuse. It reports whether it did.
func (l *Location) probe(ctx context.Context) (bool, error) {
	marker := []byte(`{"format":"docker-infrahubdb location","version":1}` + "\n")
	for range 2 {
		_, err := l.putSmall(ctx, l.prefix+MarkerName, marker, func(o *minio.PutObjectOptions) { o.SetMatchETagExcept("*") })
		switch {
		case errors.Is(err, backupset.ErrObjectExists):
			return true, nil
		case notImplemented(err):
			return false, nil
		case err != nil:
			return false, err
		}
	}
	return false, nil
}

func notImplemented(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NotImplemented" || r.StatusCode == http.StatusNotImplemented
}

// Describe names the bucket, prefix and endpoint (never a credential).
func (l *Location) Describe() string { return l.url + " at " + l.endpoint }

// Capabilities of the bucket as probed by Open.
func (l *Location) Capabilities() backupset.Capabilities { return l.caps }

func (l *Location) key(name string) (string, error) {
	if err := backupset.CheckObjectName(name); err != nil {
		return "", err
	}
	return l.prefix + name, nil
}

// describeErr maps S3 errors to the backupset errors and says what to do.
func (l *Location) describeErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	what := l.Describe()
	if name != "" {
		what = name + " in " + what
	}
	r := minio.ToErrorResponse(err)
	switch {
	case r.Code == "PreconditionFailed" || r.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%s %s: %w", op, what, backupset.ErrObjectExists)
	case r.Code == "NoSuchKey" || (r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket"):
		return fmt.Errorf("%s %s: %w", op, what, backupset.ErrObjectNotFound)
	case r.Code == "AccessDenied" || r.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s %s: access denied: the credential needs the permissions listed in docs/offsite.md (%v)", op, what, err)
	case r.Code == "InvalidAccessKeyId" || r.Code == "SignatureDoesNotMatch":
		return fmt.Errorf("%s %s: the S3 credential was refused (%s); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role", op, what, r.Code)
	case unreachable(err):
		return fmt.Errorf("%s %s: %w: %w", op, what, err, backupset.ErrUnreachable)
	}
	return fmt.Errorf("%s %s: %w", op, what, err)
}
